package reactor_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/assay-dev/assay/handlers/reactor"
)

// received is one message as the test SMTP server got it.
type received struct {
	From   string
	To     []string
	Data   []byte
	Authed bool
	TLS    bool
}

// mailbox is an SMTP backend that keeps what it receives; with user set, it takes mail
// only after AUTH PLAIN with user and pass.
type mailbox struct {
	user, pass string
	mu         sync.Mutex
	msgs       []received
}

func (b *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{box: b, conn: c}, nil
}

func (b *mailbox) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

type session struct {
	box  *mailbox
	conn *smtp.Conn
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.user || pass != s.box.pass {
			return smtp.ErrAuthFailed
		}
		s.cur.Authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.box.user != "" && !s.cur.Authed {
		return smtp.ErrAuthRequired
	}
	s.cur.From = from
	_, s.cur.TLS = s.conn.TLSConnectionState()
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{Authed: s.cur.Authed} }
func (s *session) Logout() error { return nil }

// smtpOpts: mode is none (plain), starttls or tls (implicit).
type smtpOpts struct {
	mode, user, pass string
	noStartTLS       bool // a plain server that does not offer STARTTLS
}

// startSMTP serves a mailbox on 127.0.0.1 until the test ends and answers the notifier
// config that reaches it.
func startSMTP(t *testing.T, o smtpOpts) (*mailbox, reactor.NotifierConfig) {
	t.Helper()
	box := &mailbox{user: o.user, pass: o.pass}
	srv := smtp.NewServer(box)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := reactor.NotifierConfig{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, User: o.user, Password: o.pass,
		From: "assay@example.test", Encryption: o.mode, Backoff: 10 * time.Millisecond}
	if o.mode != reactor.EncryptionNone && !o.noStartTLS {
		cert, roots := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		cfg.TLSConfig = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
		if o.mode == reactor.EncryptionTLS {
			l = tls.NewListener(l, srv.TLSConfig)
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return box, cfg
}

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// part is one leaf of a MIME message, its body decoded.
type part struct {
	Type, Disposition, Filename string
	Body                        []byte
}

// parseMail reads the headers and every leaf part of a message.
func parseMail(t *testing.T, data []byte) (*mail.Message, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var parts []part
	var walk func(ct string, body io.Reader)
	walk = func(ct string, body io.Reader) {
		media, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if !strings.HasPrefix(media, "multipart/") {
			t.Fatalf("leaf %s walked as multipart", media)
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pct := p.Header.Get("Content-Type")
			if strings.HasPrefix(pct, "multipart/") {
				walk(pct, p)
				continue
			}
			var r io.Reader = p // multipart decodes quoted-printable itself
			if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
				r = base64.NewDecoder(base64.StdEncoding, p)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			media, _, _ := mime.ParseMediaType(pct)
			disp, dparams, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			parts = append(parts, part{Type: media, Disposition: disp, Filename: dparams["filename"], Body: b})
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Body)
	return msg, parts
}
