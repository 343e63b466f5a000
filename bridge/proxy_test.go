package bridge

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// proxy forwards TCP connections to RabbitMQ; cut drops the current ones, as a
// network failure or a broker restart would, without disturbing other tests.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
	refuse atomic.Bool // drop new connections at once
}

// newProxy starts a proxy to the server of url and returns it with the URL through it.
func newProxy(t *testing.T, url string) (*proxy, string) {
	t.Helper()
	uri, err := amqp.ParseURI(url)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: net.JoinHostPort(uri.Host, strconv.Itoa(uri.Port))}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	uri.Host, uri.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	return p, uri.String()
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.refuse.Load() {
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { _, _ = io.Copy(s, c); _ = s.Close(); _ = c.Close() })
		p.wg.Go(func() { _, _ = io.Copy(c, s); _ = s.Close(); _ = c.Close() })
	}
}

// cut closes every connection open through the proxy.
func (p *proxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	n := len(p.conns) / 2
	p.conns = nil
	return n
}

func (p *proxy) String() string { return fmt.Sprintf("proxy %s -> %s", p.ln.Addr(), p.target) }
