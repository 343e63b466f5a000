package reactor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/projections/reports"
)

// NotifyName is the notification reactor's durable consumer.
const NotifyName = "reactor-notify"

// Reasons recorded with a skipped notification.
const (
	ReasonNoSMTP       = "no SMTP server configured"
	ReasonNoRecipients = "no recipients"
)

// Notifier emails a batch's report: on its first batch.report_generated to the app's and
// the batch's notify_emails, and on batch.notification_requested to the emails asked for
// (or those defaults). It records batch.notification_sent, _failed or _skipped under a
// command id derived from the triggering event, and sends nothing for an event whose
// outcome is already in the log, so a redelivery emails once.
type Notifier struct {
	cmd      *command.Handler
	cfg      NotifierConfig
	send     sender
	outcomes *prometheus.CounterVec
}

// NewNotifier checks cfg and builds a Notifier; reg may be nil (no metrics).
func NewNotifier(cmd *command.Handler, cfg NotifierConfig, reg prometheus.Registerer) (*Notifier, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = cmd.Now
	}
	n := &Notifier{cmd: cmd, cfg: cfg, outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "assay_notifications_total", Help: "Report emails by outcome (sent, failed, skipped)."}, []string{"outcome"})}
	if cfg.Host != "" {
		n.send = smtpSender{cfg: cfg}
	}
	if reg != nil {
		var err error
		if n.outcomes, err = register(reg, n.outcomes); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Reactor is the durable consumer running n; empty Name and Filters default to NotifyName
// and AnalyzeFilters (every batch's own subject).
func (n *Notifier) Reactor(cfg Config, log logrus.FieldLogger, reg prometheus.Registerer) (*Reactor, error) {
	if cfg.Name == "" {
		cfg.Name = NotifyName
	}
	if len(cfg.Filters) == 0 {
		cfg.Filters = AnalyzeFilters
	}
	return New(n.cmd.Store(), cfg, n.Handle, log, reg)
}

// NotifyCommandID is the id of the RecordNotification sent in answer to the event eventID.
func NotifyCommandID(eventID string) string { return "notify-" + eventID }

// Handle reacts to one event of a batch.
func (n *Notifier) Handle(ctx context.Context, env domain.Envelope) error {
	var appID, batchID string
	var asked []string
	switch e := env.Data.(type) {
	case batch.ReportGenerated:
		if e.Revision > 1 {
			return nil // a report made again is emailed on request only
		}
		appID, batchID = e.AppID, e.BatchID
	case batch.NotificationRequested:
		appID, batchID, asked = e.AppID, e.BatchID, e.Emails
	default:
		return nil
	}
	if !domain.ValidID(appID) || !domain.ValidID(batchID) {
		return Permanent(fmt.Errorf("notify batch %q of app %q: bad ids", batchID, appID))
	}
	cmdID := NotifyCommandID(env.ID)
	evs, _, err := n.cmd.Store().Load(ctx, domain.BatchSubject(appID, batchID), domain.BatchTree(appID, batchID))
	if err != nil {
		return fmt.Errorf("notify batch %s: load: %w", batchID, err)
	}
	if slices.ContainsFunc(evs, func(e domain.Envelope) bool { return e.Meta.CommandID == cmdID }) {
		return nil // already answered (a redelivery, or another replica)
	}
	in, err := reports.FromEvents(evs)
	if err != nil {
		return Permanent(fmt.Errorf("notify batch %s: %w", batchID, err))
	}
	a, _, err := n.cmd.LoadApp(ctx, appID)
	if err != nil {
		return err
	}
	to := asked
	if len(to) == 0 {
		to = append(slices.Clone(a.Def.NotifyEmails), in.Submitted.Settings.NotifyEmails...)
	}
	rec := batch.RecordNotification{BatchID: batchID, ActorID: domain.System, Recipients: recipients(to)}
	switch {
	case n.send == nil:
		rec.Outcome, rec.Reason = batch.NotificationOutcomeSkipped, ReasonNoSMTP
	case len(rec.Recipients) == 0:
		rec.Outcome, rec.Reason = batch.NotificationOutcomeSkipped, ReasonNoRecipients
	default:
		m, err := compose(a.Def.Name, in, rec.Recipients)
		if err != nil {
			return Permanent(fmt.Errorf("notify batch %s: %w", batchID, err))
		}
		if rec.Attempts, err = n.deliver(ctx, m); err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // stopping: the event comes back and is sent then
			}
			rec.Outcome, rec.Reason = batch.NotificationOutcomeFailed, err.Error()
		} else {
			rec.Outcome = batch.NotificationOutcomeSent
		}
	}
	return n.record(ctx, env, cmdID, rec)
}

// deliver tries the send up to Attempts times with exponential backoff; it answers the
// attempts made and the last error.
func (n *Notifier) deliver(ctx context.Context, m message) (int, error) {
	var err error
	for attempt := 1; ; attempt++ {
		if err = n.send.send(ctx, m); err == nil {
			return attempt, nil
		}
		if attempt >= n.cfg.Attempts || IsPermanent(err) || ctx.Err() != nil {
			return attempt, err
		}
		t := time.NewTimer(n.cfg.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, ctx.Err()
		case <-t.C:
		}
	}
}

func (n *Notifier) record(ctx context.Context, env domain.Envelope, cmdID string, rec batch.RecordNotification) error {
	rec.At = n.cfg.Now()
	meta := domain.Metadata{CommandID: cmdID, UserID: domain.System, CorrelationID: env.Meta.CorrelationID,
		CausationID: env.ID, RequestID: env.Meta.RequestID}
	_, err := n.cmd.Batch(ctx, meta, rec.BatchID, rec)
	switch {
	case err == nil:
		n.outcomes.WithLabelValues(rec.Outcome).Inc()
		return nil
	case errors.Is(err, domain.ErrConflict):
		return nil
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrInvalid):
		return Permanent(fmt.Errorf("record notification of batch %s: %w", rec.BatchID, err))
	}
	return fmt.Errorf("record notification of batch %s: %w", rec.BatchID, err)
}

// recipients trims, deduplicates (ignoring case) and sorts addresses.
func recipients(emails []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range emails {
		e = strings.TrimSpace(e)
		if k := strings.ToLower(e); e != "" && !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// compose builds the email: the subject names the app, the batch and its pass rate; the
// body is a short HTML summary; the batch's HTML report is attached.
func compose(appName string, in reports.Input, to []string) (message, error) {
	report, _, err := reports.Render(in, reports.HTML)
	if err != nil {
		return message{}, fmt.Errorf("render the report: %w", err)
	}
	s := summarize(appName, in)
	var body strings.Builder
	if err := summaryHTML.Execute(&body, s); err != nil {
		return message{}, fmt.Errorf("render the summary: %w", err)
	}
	return message{To: to, Subject: fmt.Sprintf("[assay] %s — batch %s: %s passed (%d/%d)", s.App, s.BatchID,
		s.PassRate, s.Totals.Passed, s.Totals.Total), HTML: body.String(), Attachment: report,
		AttachmentName: "assay-report-" + in.Submitted.BatchID + ".html"}, nil
}

type summary struct {
	App, BatchID, Environment, PassRate, Narrative string
	Totals                                         batch.Totals
	Latency                                        batch.Latency
	DurationS                                      string
	Canceled                                       bool
}

func summarize(appName string, in reports.Input) summary {
	s := summary{App: cmp.Or(appName, in.Submitted.AppID), BatchID: in.Submitted.BatchID, Environment: in.Submitted.Environment.Name}
	if c := in.Completed; c != nil {
		s.Totals, s.Latency, s.Canceled = c.Totals, c.Latency, c.Canceled
		s.DurationS = strconv.FormatFloat(float64(c.DurationMS)/1000, 'f', 1, 64)
	} else { // not completed yet (a report asked early): count what ran
		s.Totals.Total = len(in.Submitted.Cases)
		for _, r := range in.Results {
			switch r.Outcome {
			case batch.Passed:
				s.Totals.Passed++
			case batch.Failed:
				s.Totals.Failed++
			case batch.Errored:
				s.Totals.Errored++
			}
		}
	}
	s.PassRate = "0.0%"
	if s.Totals.Total > 0 {
		s.PassRate = strconv.FormatFloat(float64(s.Totals.Passed)*100/float64(s.Totals.Total), 'f', 1, 64) + "%"
	}
	var an struct {
		Narrative string `json:"narrative"`
	}
	if json.Unmarshal(in.Analysis, &an) == nil {
		s.Narrative = an.Narrative
	}
	return s
}

// summaryHTML is self-contained: inline styles, no images, nothing fetched.
var summaryHTML = template.Must(template.New("summary").Parse(`<!DOCTYPE html>
<html><body style="font-family:sans-serif;color:#222">
<h2 style="margin:0 0 8px">{{.App}}: {{.PassRate}} passed</h2>
<p style="margin:0 0 12px;color:#555">Batch <code>{{.BatchID}}</code> on {{.Environment}}{{if .Canceled}} (canceled){{end}}</p>
<table style="border-collapse:collapse" cellpadding="4">
<tr><td>Cases</td><td align="right">{{.Totals.Total}}</td></tr>
<tr><td style="color:#1a7f37">Passed</td><td align="right">{{.Totals.Passed}}</td></tr>
<tr><td style="color:#cf222e">Failed</td><td align="right">{{.Totals.Failed}}</td></tr>
<tr><td style="color:#9a6700">Errored</td><td align="right">{{.Totals.Errored}}</td></tr>
<tr><td>Canceled</td><td align="right">{{.Totals.Canceled}}</td></tr>
{{if .DurationS}}<tr><td>Duration</td><td align="right">{{.DurationS}} s</td></tr>
<tr><td>Latency p50 / p95 / p99</td><td align="right">{{printf "%.1f" .Latency.P50}} / {{printf "%.1f" .Latency.P95}} / {{printf "%.1f" .Latency.P99}} ms</td></tr>{{end}}
</table>
{{if .Narrative}}<p style="white-space:pre-wrap">{{.Narrative}}</p>{{end}}
<p style="color:#555">The full report is attached.</p>
</body></html>
`))
