package testenv

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
)

// Mail is one message as the test SMTP server received it.
type Mail struct {
	From   string
	To     []string
	Data   []byte
	Authed bool // the session authenticated (AUTH PLAIN) before sending
	TLS    bool // the connection was encrypted when the mail was sent
}

// SMTPOptions shape an SMTPServer.
type SMTPOptions struct {
	User, Pass string // set: mail is taken only after AUTH PLAIN with them
	// Encryption is "none" (plain, the default), "starttls" or "tls" (implicit).
	Encryption string
	NoStartTLS bool // with "starttls": a plain server that does not offer it
}

// SMTPServer is an in-process SMTP server (emersion/go-smtp) on 127.0.0.1 that keeps
// what it receives, for as long as the test runs.
type SMTPServer struct {
	Addr      *net.TCPAddr
	ClientTLS *tls.Config // trusts the server's self-signed certificate (nil without TLS)
	opts      SMTPOptions
	mu        sync.Mutex
	msgs      []Mail
}

// NewSMTPServer starts an SMTPServer, closed when the test ends.
func NewSMTPServer(tb testing.TB, o SMTPOptions) *SMTPServer {
	tb.Helper()
	box := &SMTPServer{opts: o}
	srv := smtp.NewServer(box)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	box.Addr = l.Addr().(*net.TCPAddr)
	if o.Encryption == "starttls" && !o.NoStartTLS || o.Encryption == "tls" {
		cert, roots := selfSigned(tb)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		box.ClientTLS = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
		if o.Encryption == "tls" {
			l = tls.NewListener(l, srv.TLSConfig)
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	tb.Cleanup(func() { _ = srv.Close(); <-done })
	return box
}

// Messages are the mails received so far.
func (b *SMTPServer) Messages() []Mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

// NewSession implements smtp.Backend.
func (b *SMTPServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{box: b, conn: c}, nil
}

type smtpSession struct {
	box  *SMTPServer
	conn *smtp.Conn
	cur  Mail
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.opts.User || pass != s.box.opts.Pass {
			return smtp.ErrAuthFailed
		}
		s.cur.Authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.box.opts.User != "" && !s.cur.Authed {
		return smtp.ErrAuthRequired
	}
	s.cur.From = from
	_, s.cur.TLS = s.conn.TLSConnectionState()
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
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

func (s *smtpSession) Reset()        { s.cur = Mail{Authed: s.cur.Authed} }
func (s *smtpSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// MailPart is one leaf of a MIME message, its body decoded.
type MailPart struct {
	Type, Disposition, Filename string
	Body                        []byte
}

// ReadMail parses a received multipart message: its headers and every leaf part.
func ReadMail(tb testing.TB, data []byte) (*mail.Message, []MailPart) {
	tb.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	var parts []MailPart
	var walk func(ct string, body io.Reader)
	walk = func(ct string, body io.Reader) {
		media, params, err := mime.ParseMediaType(ct)
		if err != nil || !strings.HasPrefix(media, "multipart/") {
			tb.Fatalf("content type %q (%v): want multipart", ct, err)
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				tb.Fatal(err)
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
				tb.Fatal(err)
			}
			media, _, _ := mime.ParseMediaType(pct)
			disp, dparams, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			parts = append(parts, MailPart{Type: media, Disposition: disp, Filename: dparams["filename"], Body: b})
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Body)
	return msg, parts
}
