package reactor_test

import (
	"testing"
	"time"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/handlers/reactor"
)

// smtpOpts: mode is none (plain), starttls or tls (implicit).
type smtpOpts struct {
	mode, user, pass string
	noStartTLS       bool // a plain server that does not offer STARTTLS
}

// startSMTP serves a mailbox on 127.0.0.1 until the test ends and answers the notifier
// config that reaches it.
func startSMTP(t *testing.T, o smtpOpts) (*testenv.SMTPServer, reactor.NotifierConfig) {
	t.Helper()
	box := testenv.NewSMTPServer(t, testenv.SMTPOptions{User: o.user, Pass: o.pass, Encryption: o.mode, NoStartTLS: o.noStartTLS})
	cfg := reactor.NotifierConfig{Host: "127.0.0.1", Port: box.Addr.Port, User: o.user, Password: o.pass,
		From: "assay@example.test", Encryption: o.mode, Backoff: 10 * time.Millisecond, TLSConfig: box.ClientTLS}
	return box, cfg
}
