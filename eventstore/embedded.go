package eventstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// readyTimeout bounds how long StartEmbedded waits for the server: a local server is
// ready in milliseconds, so anything near this means it will not come up.
const readyTimeout = 10 * time.Second

// MaxPayload is the largest message the embedded server accepts (NATS's own default is
// 1 MiB): a batch.submitted embeds every frozen case, about 220 bytes to a few KB each,
// so 1 MiB would refuse batches of a few thousand cases. Above 8 MiB nats-server warns;
// deploy/nats/nats.conf sets the same max_payload for the servers assay ships.
const MaxPayload = 8 << 20

// EmbeddedConfig configures an in-process nats-server with JetStream.
type EmbeddedConfig struct {
	Dir        string // file store directory, required
	Listen     string // "" = no listener (in-process connection only); "127.0.0.1:0" etc. to listen
	SyncAlways *bool  // default true: fsync before acknowledging; false = NATS's lazy default
	ServerName string

	// Cluster, for a multi-node test: a name, a route listen address and the routes.
	ClusterName   string
	ClusterListen string
	Routes        []string
}

// Embedded is a running in-process server.
type Embedded struct {
	srv    *server.Server
	listen bool
}

// StartEmbedded starts the server and waits until it accepts connections.
// SyncAlways defaults to true: the log is the only copy of history, and with the
// default two-minute flush an acknowledged event can be lost in a power cut.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	opts, err := embeddedOptions(cfg)
	if err != nil {
		return nil, fmt.Errorf("eventstore: embedded server: %w", err)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("eventstore: embedded server: new: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("eventstore: embedded server: not ready after %s", readyTimeout)
	}
	return &Embedded{srv: srv, listen: !opts.DontListen}, nil
}

func embeddedOptions(cfg EmbeddedConfig) (*server.Options, error) {
	if cfg.Dir == "" {
		return nil, errors.New("a store directory is required")
	}
	opts := &server.Options{
		ServerName: cfg.ServerName,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		SyncAlways: cfg.SyncAlways == nil || *cfg.SyncAlways,
		DontListen: cfg.Listen == "",
		NoSigs:     true, // the host process owns signal handling
		NoLog:      true,
		MaxPayload: MaxPayload,
	}
	if cfg.Listen != "" {
		host, port, err := hostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		opts.Host, opts.Port = host, port
	}
	if (cfg.ClusterName != "" || len(cfg.Routes) > 0) && (cfg.ClusterListen == "" || cfg.ServerName == "") {
		// JetStream in a cluster needs a route listener and a stable server name.
		return nil, errors.New("a cluster needs ClusterListen and ServerName")
	}
	if cfg.ClusterListen != "" {
		host, port, err := hostPort(cfg.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("cluster listen: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port}
	}
	for _, r := range cfg.Routes {
		u, err := url.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r, err)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return opts, nil
}

// hostPort splits "host:port"; port 0 means "any free port", which nats-server spells
// RANDOM_PORT (its 0 means the default 4222).
func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// Connect opens a client connection: in-process when the server has no listener,
// otherwise through its client URL.
func (e *Embedded) Connect(opts ...nats.Option) (*nats.Conn, error) {
	addr := e.ClientURL()
	if !e.listen {
		opts = append(opts, nats.InProcessServer(e.srv))
	}
	nc, err := nats.Connect(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("eventstore: connect to embedded server: %w", err)
	}
	return nc, nil
}

// ClientURL is the URL clients connect to ("" when the server has no listener).
func (e *Embedded) ClientURL() string {
	if !e.listen {
		return ""
	}
	return e.srv.ClientURL()
}

// Server is the nats-server itself, for tests that need its internals.
func (e *Embedded) Server() *server.Server { return e.srv }

// Shutdown stops the server and waits until it has stopped.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
