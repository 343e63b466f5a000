package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/assay-dev/assay/eventstore"
)

// natsCluster is a JetStream cluster of embedded servers on loopback ports. A server that
// is shut down can be started again with the same ports and store directory.
type natsCluster struct {
	t       testing.TB
	sync    bool
	names   []string
	dirs    []string
	clients []string // host:port of each server's clients
	routes  []string // host:port of each server's routes
	srvs    []*eventstore.Embedded
}

// startCluster starts n servers routed to each other and waits until JetStream has a
// meta leader; t.Cleanup shuts them down.
func startCluster(t testing.TB, n int, sync bool) *natsCluster {
	t.Helper()
	c := &natsCluster{t: t, sync: sync, srvs: make([]*eventstore.Embedded, n)}
	for i := range n {
		c.names = append(c.names, fmt.Sprintf("n%d", i+1))
		c.dirs = append(c.dirs, t.TempDir())
		c.clients = append(c.clients, clusterAddr(t))
		c.routes = append(c.routes, clusterAddr(t))
	}
	for i := range n {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.srvs {
			c.stop(i)
		}
	})
	waitFor(t, 30*time.Second, "a JetStream meta leader", func() bool {
		for _, s := range c.srvs {
			if s != nil && s.Server().JetStreamIsLeader() {
				return true
			}
		}
		return false
	})
	return c
}

// start starts server i (again).
func (c *natsCluster) start(i int) {
	c.t.Helper()
	var routes []string
	for j, r := range c.routes {
		if j != i {
			routes = append(routes, "nats://"+r)
		}
	}
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: c.dirs[i], Listen: c.clients[i], SyncAlways: &c.sync,
		ServerName: c.names[i], ClusterName: "assay-test", ClusterListen: c.routes[i], Routes: routes})
	if err != nil {
		c.t.Fatalf("start %s: %v", c.names[i], err)
	}
	c.srvs[i] = srv
}

// stop shuts server i down (a no-op when it is down).
func (c *natsCluster) stop(i int) {
	if c.srvs[i] != nil {
		c.srvs[i].Shutdown()
		c.srvs[i] = nil
	}
}

// urls are every server's client URL, for a client that must survive losing one.
func (c *natsCluster) urls() string {
	us := make([]string, len(c.clients))
	for i, a := range c.clients {
		us[i] = "nats://" + a
	}
	return strings.Join(us, ",")
}

// index is the position of the server named name.
func (c *natsCluster) index(name string) int {
	for i, n := range c.names {
		if n == name {
			return i
		}
	}
	c.t.Fatalf("no server %q", name)
	return -1
}

// streamLeader is the name of the server leading the log's stream.
func streamLeader(t testing.TB, store *eventstore.Store) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := store.JetStream().Stream(ctx, store.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		t.Fatal("the stream has no leader")
	}
	return info.Cluster.Leader
}

// localLastSeq is the last sequence of the stream in server i's own store (what it has
// replicated), from the server's JetStream monitoring API.
func (c *natsCluster) localLastSeq(i int, stream string) (uint64, bool) {
	if c.srvs[i] == nil {
		return 0, false
	}
	info, err := c.srvs[i].Server().Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		return 0, false
	}
	for _, a := range info.AccountDetails {
		for _, s := range a.Streams {
			if s.Name == stream {
				return s.State.LastSeq, true
			}
		}
	}
	return 0, false
}

// clusterAddr is a free loopback address (as freeAddr, for benchmarks too).
func clusterAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
