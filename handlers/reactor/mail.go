package reactor

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	simplemail "github.com/xhit/go-simple-mail/v2"
)

// Encryptions of NotifierConfig.
const (
	EncryptionSTARTTLS = "starttls"
	EncryptionTLS      = "tls"
	EncryptionNone     = "none"
)

// NotifierConfig tunes a Notifier. An empty Host sends no email: each report is then
// recorded as a skipped notification.
type NotifierConfig struct {
	Host       string
	Port       int    // default 587 (starttls), 465 (tls) or 25 (none)
	User       string // empty: no authentication
	Password   string
	From       string // required with Host; defaults to User when that is an address
	Encryption string // starttls (default), tls or none
	// TLSConfig verifies the server (default: the system roots for Host).
	TLSConfig      *tls.Config
	ConnectTimeout time.Duration // default 10s
	SendTimeout    time.Duration // default 30s
	Attempts       int           // sends tried before giving up (default 3)
	Backoff        time.Duration // pause after the first failed attempt, doubled after each (default 1s)
	MaxBackoff     time.Duration // longest pause (default 30s)
	Now            func() time.Time
}

func (c *NotifierConfig) setDefaults() {
	if c.Encryption == "" {
		c.Encryption = EncryptionSTARTTLS
	}
	if c.Port == 0 {
		c.Port = map[string]int{EncryptionSTARTTLS: 587, EncryptionTLS: 465, EncryptionNone: 25}[c.Encryption]
	}
	if c.From == "" && strings.Contains(c.User, "@") {
		c.From = c.User
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.Attempts == 0 {
		c.Attempts = 3
	}
	if c.Backoff == 0 {
		c.Backoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
}

// Validate reports every bad field.
func (c NotifierConfig) Validate() error {
	var errs []error
	if c.Host != "" {
		if c.Port < 1 || c.Port > 65535 {
			errs = append(errs, fmt.Errorf("notifier: Port must be between 1 and 65535, got %d", c.Port))
		}
		if _, err := mail.ParseAddress(c.From); err != nil {
			errs = append(errs, fmt.Errorf("notifier: From %q must be an email address (%v)", c.From, err))
		}
	}
	switch c.Encryption {
	case EncryptionSTARTTLS, EncryptionTLS, EncryptionNone:
	default:
		errs = append(errs, fmt.Errorf("notifier: Encryption must be starttls, tls or none, got %q", c.Encryption))
	}
	if c.ConnectTimeout <= 0 || c.SendTimeout <= 0 {
		errs = append(errs, errors.New("notifier: ConnectTimeout and SendTimeout must be positive"))
	}
	if c.Attempts < 1 || c.Attempts > 20 {
		errs = append(errs, fmt.Errorf("notifier: Attempts must be between 1 and 20, got %d", c.Attempts))
	}
	if c.Backoff <= 0 || c.MaxBackoff < c.Backoff {
		errs = append(errs, errors.New("notifier: Backoff must be positive and MaxBackoff at least Backoff"))
	}
	return errors.Join(errs...)
}

// backoff is the pause after the attempt-th failed send.
func (c NotifierConfig) backoff(attempt int) time.Duration {
	d := c.Backoff
	for range attempt - 1 {
		if d *= 2; d >= c.MaxBackoff {
			return c.MaxBackoff
		}
	}
	return d
}

// message is one email as the notifier composes it; the SMTP details stay in this file.
type message struct {
	To             []string
	Subject        string
	HTML           string
	Attachment     []byte
	AttachmentName string
}

// sender delivers a message; an error it marks with Permanent is not worth another attempt.
type sender interface {
	send(ctx context.Context, m message) error
}

// smtpSender sends through one SMTP server with go-simple-mail, one connection per message.
type smtpSender struct{ cfg NotifierConfig }

func (s smtpSender) send(ctx context.Context, m message) error {
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	// The library takes no context: the connection's deadline bounds every step, and
	// closing it when ctx ends cuts a send short.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(s.cfg.ConnectTimeout + s.cfg.SendTimeout))

	srv := simplemail.NewSMTPClient()
	srv.Host, srv.Port = s.cfg.Host, s.cfg.Port
	srv.Username, srv.Password = s.cfg.User, s.cfg.Password
	srv.Authentication = simplemail.AuthAuto
	if s.cfg.User == "" {
		srv.Authentication = simplemail.AuthNone
	}
	srv.Encryption = simplemail.EncryptionNone // TLS is already on conn; STARTTLS is asked for below
	if s.cfg.Encryption == EncryptionSTARTTLS {
		srv.Encryption = simplemail.EncryptionSTARTTLS
	}
	srv.TLSConfig = s.tlsConfig()
	srv.SendTimeout = s.cfg.SendTimeout
	srv.CustomConn = conn
	client, err := srv.Connect()
	if err != nil {
		_ = conn.Close()
		return classify(fmt.Errorf("smtp %s: connect: %w", s.address(), err))
	}
	defer func() { _ = client.Close() }()

	email := simplemail.NewMSG().SetFrom(s.cfg.From).AddTo(m.To...).SetSubject(m.Subject).SetBody(simplemail.TextHTML, m.HTML)
	email.Attach(&simplemail.File{Data: m.Attachment, Name: m.AttachmentName, MimeType: "text/html"})
	if email.Error != nil {
		return Permanent(fmt.Errorf("compose the email: %w", email.Error))
	}
	if err := email.Send(client); err != nil {
		return classify(fmt.Errorf("smtp %s: send: %w", s.address(), err))
	}
	_ = client.Quit()
	return nil
}

// dial opens the connection under ctx and the connect timeout: TLS from the first byte
// for "tls", plain otherwise (STARTTLS upgrades it), guarded so that a server which does
// not offer STARTTLS never gets the credentials or the mail in clear text.
func (s smtpSender) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: s.cfg.ConnectTimeout}
	var conn net.Conn
	var err error
	if s.cfg.Encryption == EncryptionTLS {
		td := tls.Dialer{NetDialer: &d, Config: s.tlsConfig()}
		conn, err = td.DialContext(ctx, "tcp", s.address())
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.address())
	}
	if err != nil {
		return nil, fmt.Errorf("smtp %s: dial: %w", s.address(), err)
	}
	if s.cfg.Encryption == EncryptionSTARTTLS {
		conn = &startTLSGuard{Conn: conn}
	}
	return conn, nil
}

func (s smtpSender) address() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

func (s smtpSender) tlsConfig() *tls.Config {
	if s.cfg.TLSConfig != nil {
		return s.cfg.TLSConfig.Clone()
	}
	return &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
}

// classify marks what retrying cannot cure: the server's 5xx replies (a refused
// recipient, bad credentials) and a server without STARTTLS.
func classify(err error) error {
	var te *textproto.Error
	if (errors.As(err, &te) && te.Code >= 500) || errors.Is(err, errNoStartTLS) {
		return Permanent(err)
	}
	return err
}

var errNoStartTLS = errors.New("the server does not offer STARTTLS; refusing to go on in clear text")

// startTLSGuard refuses every command but the greeting ones until STARTTLS was sent:
// go-simple-mail carries on in clear text when a server does not offer STARTTLS.
type startTLSGuard struct {
	net.Conn
	mu      sync.Mutex
	upgrade bool
}

func (g *startTLSGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.upgrade {
		cmd := bytes.ToUpper(p)
		switch {
		case bytes.HasPrefix(cmd, []byte("STARTTLS")):
			g.upgrade = true
		case !bytes.HasPrefix(cmd, []byte("EHLO")) && !bytes.HasPrefix(cmd, []byte("HELO")) &&
			!bytes.HasPrefix(cmd, []byte("QUIT")):
			return 0, errNoStartTLS
		}
	}
	return g.Conn.Write(p)
}
