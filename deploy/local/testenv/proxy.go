package testenv

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Proxy forwards TCP connections to RabbitMQ; Cut drops the current ones, as a network
// failure or a broker restart would, without disturbing other tests that share the broker.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
	refuse atomic.Bool // drop new connections at once
	held   atomic.Bool // hold back what the server sends (the client's frames still go through)
}

// NewAMQPProxy starts a proxy to the server of an AMQP URL and returns it with the URL
// through it; it stops when the test ends.
func NewAMQPProxy(t testing.TB, url string) (*Proxy, string) {
	t.Helper()
	uri, err := amqp.ParseURI(url)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: net.JoinHostPort(uri.Host, strconv.Itoa(uri.Port))}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	uri.Host, uri.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	return p, uri.String()
}

func (p *Proxy) accept() {
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
		p.wg.Go(func() { p.pipe(s, c, false) })
		p.wg.Go(func() { p.pipe(c, s, true) })
	}
}

// pipe copies src to dst; the server-to-client direction waits while the proxy is held.
func (p *Proxy) pipe(dst, src net.Conn, fromServer bool) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for fromServer && p.held.Load() && !p.refuse.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Hold keeps what the server sends (publisher confirms included) from reaching the
// client while on, as a broker that stopped answering would.
func (p *Proxy) Hold(on bool) { p.held.Store(on) }

// Refuse makes the proxy drop new connections at once (on) or forward them again (off).
func (p *Proxy) Refuse(on bool) { p.refuse.Store(on) }

// Cut closes every connection open through the proxy and says how many there were.
func (p *Proxy) Cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	n := len(p.conns) / 2
	p.conns = nil
	return n
}

func (p *Proxy) String() string { return fmt.Sprintf("proxy %s -> %s", p.ln.Addr(), p.target) }
