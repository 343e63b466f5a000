package reactor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/assay-dev/assay/deploy/local/testenv"
	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/handlers/reactor"
	"github.com/assay-dev/assay/projections/reports"
)

// reported creates the app with appEmails and runs a batch of 10 cases (3 failed) with
// batchEmails through completion, analysis and report; it answers the report event.
func (e *env) reported(batchID string, appEmails, batchEmails []string) domain.Envelope {
	e.t.Helper()
	m := domain.Metadata{CommandID: "create-" + appID, UserID: "user-1"}
	def := app.Definition{Name: "shop", NotifyEmails: appEmails,
		Environments: []app.Environment{{Name: "staging", BaseURL: "http://127.0.0.1:9"}}}
	if _, err := e.cmd.App(e.ctx, m, appID, app.Create{AppID: appID, ActorID: "user-1", App: def, At: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
	sub := submitted(batchID, plainCases(10))
	sub.Settings.NotifyEmails = batchEmails
	e.submit(sub)
	for i := range 10 {
		e.result(batchID, fmt.Sprintf("c-%05d", i), map[bool]string{true: batch.Failed, false: batch.Passed}[i < 3], nil)
	}
	meta := domain.Metadata{CommandID: "complete-" + batchID, UserID: domain.System}
	if _, err := e.cmd.Batch(e.ctx, meta, batchID, batch.Complete{BatchID: batchID, ActorID: domain.System, At: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
	if err := reactor.NewAnalyzer(e.cmd, reactor.AnalyzerConfig{}).Handle(e.ctx, e.last(batchID, "batch.completed")); err != nil {
		e.t.Fatal(err)
	}
	if err := reactor.NewReporter(e.cmd).Handle(e.ctx, e.last(batchID, "batch.analyzed")); err != nil {
		e.t.Fatal(err)
	}
	return e.last(batchID, "batch.report_generated")
}

// last is the batch's latest event of a type.
func (e *env) last(batchID, typ string) domain.Envelope {
	e.t.Helper()
	envs := e.load(domain.BatchSubject(appID, batchID))
	for i := len(envs) - 1; i >= 0; i-- {
		if envs[i].Type == typ {
			return envs[i]
		}
	}
	e.t.Fatalf("batch %s has no %s", batchID, typ)
	return domain.Envelope{}
}

// outcomes are the batch's notification events.
func (e *env) outcomes(batchID string) []domain.Event {
	var out []domain.Event
	for _, env := range e.load(domain.BatchSubject(appID, batchID)) {
		switch env.Data.(type) {
		case batch.NotificationSent, batch.NotificationFailed, batch.NotificationSkipped:
			out = append(out, env.Data)
		}
	}
	return out
}

func (e *env) notifier(cfg reactor.NotifierConfig, reg prometheus.Registerer) *reactor.Notifier {
	e.t.Helper()
	n, err := reactor.NewNotifier(e.cmd, cfg, reg)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// checkMail checks one received message: recipients, subject, HTML summary, the report attached.
func (e *env) checkMail(m testenv.Mail, batchID string, to []string) {
	t := e.t
	t.Helper()
	if !slices.Equal(m.To, to) || m.From != "assay@example.test" {
		t.Errorf("envelope from %s to %v, want to %v", m.From, m.To, to)
	}
	msg, parts := testenv.ReadMail(t, m.Data)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"shop", batchID, "70.0% passed (7/10)"} {
		if !strings.Contains(subject, want) {
			t.Errorf("subject %q lacks %q", subject, want)
		}
	}
	addrs, err := msg.Header.AddressList("To")
	if err != nil || len(addrs) != len(to) {
		t.Errorf("To header %q (%v), want %v", msg.Header.Get("To"), err, to)
	}
	evs, _, err := e.store.Load(e.ctx, domain.BatchSubject(appID, batchID), domain.BatchTree(appID, batchID))
	if err != nil {
		t.Fatal(err)
	}
	in, err := reports.FromEvents(evs)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := reports.Render(in, reports.HTML)
	if err != nil {
		t.Fatal(err)
	}
	var body, attached bool
	for _, p := range parts {
		switch {
		case p.Type == "text/html" && p.Disposition == "attachment":
			attached = p.Filename == "assay-report-"+batchID+".html" && bytes.Equal(p.Body, want)
		case p.Type == "text/html":
			body = strings.Contains(string(p.Body), "70.0% passed") && strings.Contains(string(p.Body), batchID)
		}
	}
	if !body || !attached {
		t.Errorf("HTML summary %v, report attached %v; parts %d", body, attached, len(parts))
	}
}

// A reported batch is emailed once, with auth, to the app's and the batch's addresses,
// though its report event is delivered twice.
func TestNotifyReportedBatchOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	box, cfg := startSMTP(t, smtpOpts{mode: reactor.EncryptionNone, user: "mailer", pass: "s3cret"})
	ev := e.reported("b-mail", []string{"ops@shop.test", "dev@shop.test"}, []string{"dev@shop.test", "qa@shop.test"})
	reg := prometheus.NewRegistry()
	n := e.notifier(cfg, reg)
	r, err := n.Reactor(reactor.Config{MaxWait: 100 * time.Millisecond}, quietLog(), reg)
	if err != nil {
		t.Fatal(err)
	}
	e.run(r)
	e.eventually("notification_sent", func() bool { return len(e.outcomes("b-mail")) > 0 })
	if err := n.Handle(e.ctx, ev); err != nil { // a redelivery
		t.Fatal(err)
	}
	to := []string{"dev@shop.test", "ops@shop.test", "qa@shop.test"}
	got := e.outcomes("b-mail")
	if len(got) != 1 || !slices.Equal(got[0].(batch.NotificationSent).Recipients, to) || got[0].(batch.NotificationSent).Attempts != 1 {
		t.Fatalf("outcomes %+v", got)
	}
	msgs := box.Messages()
	if len(msgs) != 1 || !msgs[0].Authed {
		t.Fatalf("%d messages (authed %v)", len(msgs), len(msgs) > 0 && msgs[0].Authed)
	}
	if msgs[0].TLS {
		t.Error("plain SMTP used TLS")
	}
	e.checkMail(msgs[0], "b-mail", to)
	want := "# HELP assay_notifications_total Report emails by outcome (sent, failed, skipped).\n" +
		"# TYPE assay_notifications_total counter\nassay_notifications_total{outcome=\"sent\"} 1\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "assay_notifications_total"); err != nil {
		t.Error(err)
	}
}

// STARTTLS and implicit TLS with a certificate the config trusts.
func TestNotifyOverTLS(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{reactor.EncryptionSTARTTLS, reactor.EncryptionTLS} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			box, cfg := startSMTP(t, smtpOpts{mode: mode, user: "mailer", pass: "s3cret"})
			ev := e.reported("b-tls", nil, []string{"qa@shop.test"})
			if err := e.notifier(cfg, nil).Handle(e.ctx, ev); err != nil {
				t.Fatal(err)
			}
			msgs := box.Messages()
			if len(msgs) != 1 || !msgs[0].TLS || !msgs[0].Authed {
				t.Fatalf("messages %+v", msgs)
			}
			e.checkMail(msgs[0], "b-tls", []string{"qa@shop.test"})
		})
	}
}

// A server that does not offer STARTTLS gets neither the password nor the mail, and
// retrying cannot change that: one attempt, then notification_failed.
func TestNotifyRefusesCleartextWithoutStartTLS(t *testing.T) {
	t.Parallel()
	e := setup(t)
	box, cfg := startSMTP(t, smtpOpts{mode: reactor.EncryptionSTARTTLS, noStartTLS: true, user: "mailer", pass: "s3cret"})
	ev := e.reported("b-clear", []string{"ops@shop.test"}, nil)
	if err := e.notifier(cfg, nil).Handle(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	got := e.outcomes("b-clear")
	if len(got) != 1 {
		t.Fatalf("outcomes %+v", got)
	}
	f, ok := got[0].(batch.NotificationFailed)
	if !ok || f.Attempts != 1 || !strings.Contains(f.Reason, "STARTTLS") || len(box.Messages()) != 0 {
		t.Fatalf("outcome %+v, %d messages", got[0], len(box.Messages()))
	}
}

// Credentials the server refuses (535) are not tried again.
func TestNotifyBadPasswordFailsAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	box, cfg := startSMTP(t, smtpOpts{mode: reactor.EncryptionNone, user: "mailer", pass: "s3cret"})
	cfg.Password = "wrong"
	ev := e.reported("b-auth", []string{"ops@shop.test"}, nil)
	if err := e.notifier(cfg, nil).Handle(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	got := e.outcomes("b-auth")
	if len(got) != 1 {
		t.Fatalf("outcomes %+v", got)
	}
	if f, ok := got[0].(batch.NotificationFailed); !ok || f.Attempts != 1 || !strings.Contains(f.Reason, "535") || len(box.Messages()) != 0 {
		t.Fatalf("outcome %+v", got[0])
	}
}

// An unreachable server is tried Attempts times, then the failure is recorded with its reason.
func TestNotifyUnreachableFails(t *testing.T) {
	t.Parallel()
	e := setup(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing listens there now
	ev := e.reported("b-down", []string{"ops@shop.test"}, nil)
	cfg := reactor.NotifierConfig{Host: "127.0.0.1", Port: port, From: "assay@example.test", Encryption: reactor.EncryptionNone,
		Attempts: 3, Backoff: 10 * time.Millisecond}
	if err := e.notifier(cfg, nil).Handle(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	got := e.outcomes("b-down")
	if len(got) != 1 {
		t.Fatalf("outcomes %+v", got)
	}
	f, ok := got[0].(batch.NotificationFailed)
	if !ok || f.Attempts != 3 || !strings.Contains(f.Reason, "dial") || !slices.Equal(f.Recipients, []string{"ops@shop.test"}) {
		t.Fatalf("outcome %+v", got[0])
	}
}

// Stopping during the backoff records nothing: the event comes back and is sent then.
func TestNotifyStoppingRecordsNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	ev := e.reported("b-stop", []string{"ops@shop.test"}, nil)
	cfg := reactor.NotifierConfig{Host: "127.0.0.1", Port: port, From: "assay@example.test", Encryption: reactor.EncryptionNone,
		Attempts: 5, Backoff: time.Minute, MaxBackoff: time.Minute}
	ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
	defer cancel()
	if err := e.notifier(cfg, nil).Handle(ctx, ev); !errors.Is(err, context.DeadlineExceeded) || reactor.IsPermanent(err) {
		t.Fatalf("handle while stopping: %v", err)
	}
	if got := e.outcomes("b-stop"); len(got) != 0 {
		t.Fatalf("outcomes %+v", got)
	}
}

// No SMTP host, or no recipients: the notification is recorded as skipped, with the reason.
func TestNotifySkipped(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ev := e.reported("b-skip", []string{"ops@shop.test"}, nil)
	if err := e.notifier(reactor.NotifierConfig{}, nil).Handle(e.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := e.outcomes("b-skip"); len(got) != 1 || got[0].(batch.NotificationSkipped).Reason != reactor.ReasonNoSMTP {
		t.Fatalf("outcomes %+v", got)
	}

	e2 := setup(t)
	box, cfg := startSMTP(t, smtpOpts{mode: reactor.EncryptionNone})
	ev = e2.reported("b-none", nil, nil)
	if err := e2.notifier(cfg, nil).Handle(e2.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := e2.outcomes("b-none"); len(got) != 1 || got[0].(batch.NotificationSkipped).Reason != reactor.ReasonNoRecipients || len(box.Messages()) != 0 {
		t.Fatalf("outcomes %+v", got)
	}
}

// A request with emails goes to those emails only.
func TestNotifyRequestedEmails(t *testing.T) {
	t.Parallel()
	e := setup(t)
	box, cfg := startSMTP(t, smtpOpts{mode: reactor.EncryptionNone})
	e.reported("b-req", []string{"ops@shop.test"}, nil)
	meta := domain.Metadata{CommandID: "ask", UserID: "user-1"}
	if _, err := e.cmd.Batch(e.ctx, meta, "b-req", batch.RequestNotification{BatchID: "b-req", ActorID: "user-1",
		Emails: []string{"boss@shop.test", "Boss@shop.test", "cto@shop.test"}, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if err := e.notifier(cfg, nil).Handle(e.ctx, e.last("b-req", "batch.notification_requested")); err != nil {
		t.Fatal(err)
	}
	msgs := box.Messages()
	want := []string{"boss@shop.test", "cto@shop.test"}
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	e.checkMail(msgs[0], "b-req", want)
	if got := e.outcomes("b-req"); len(got) != 1 || !slices.Equal(got[0].(batch.NotificationSent).Recipients, want) {
		t.Fatalf("outcomes %+v", got)
	}
}

func TestNotifierConfigValidate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, err := reactor.NewNotifier(e.cmd, reactor.NotifierConfig{Host: "smtp.example.test", Port: 70000, Encryption: "ssl",
		Attempts: -1, Backoff: time.Second, MaxBackoff: time.Millisecond}, nil)
	for _, want := range []string{"Port", "From", "Encryption", "Attempts", "MaxBackoff"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
	if _, err := reactor.NewNotifier(e.cmd, reactor.NotifierConfig{}, nil); err != nil {
		t.Errorf("no host: %v", err)
	}
}
