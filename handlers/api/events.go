package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/command"
)

const (
	defaultHeartbeat = 15 * time.Second // a comment on every stream, so proxies keep it open
	sseRetryMillis   = 2000             // how soon a browser reconnects
	ownersCap        = 10_000           // apps whose owner one stream remembers
	eventsBuffer     = 256              // messages the consumer buffers in the client
	eventsInactive   = 30 * time.Second // the server drops a consumer we failed to delete
	eventsResets     = 3                // consumer re-creations before the stream ends (the client resumes)
)

// heartbeatEvery is how often a stream sends ": heartbeat".
func (s *Server) heartbeatEvery() time.Duration {
	if s.heartbeat > 0 {
		return s.heartbeat
	}
	return defaultHeartbeat
}

// events streams the caller's events as Server-Sent Events (API.md, GET /events): each
// `id:` is the stream sequence, so a client resumes with Last-Event-ID (or ?after=N) from
// N+1, with no gap and no duplicate; after=0 is the whole history. Without either the
// stream starts at the log's current end: only new events. The opening block carries an
// `id:` with no data, the position the stream starts after, so even a client that saw no
// event resumes without a gap. Only events.user.<caller> and the events of the caller's
// apps (archived ones included) are sent.
func (s *Server) events(c echo.Context) error {
	q, err := parseEventsQuery(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f := &eventFilter{user: userOf(c), types: q.types, owners: map[string]string{}, cmds: s.deps.Commands, log: s.log}
	filters := []string{domain.SubjectRoot + ".>"}
	if q.appID != "" {
		if err := f.requireApp(ctx, q.appID); err != nil {
			return err
		}
		filters = []string{domain.AppSubject(q.appID), domain.AppTree(q.appID)}
	}
	if !q.resume {
		if q.after, err = s.deps.Commands.Store().LastSeq(ctx); err != nil {
			return err
		}
	}
	it, unsubscribe, err := s.subscribe(ctx, filters, q.after+1)
	if err != nil {
		return err
	}
	defer unsubscribe()
	return s.stream(c, it, f, q.after)
}

// subscribe reads filters from start through an ordered consumer (ephemeral, no acks);
// unsubscribe stops it and deletes it now rather than at its inactivity threshold.
func (s *Server) subscribe(ctx context.Context, filters []string, start uint64) (jetstream.MessagesContext, func(), error) {
	store := s.deps.Commands.Store()
	cons, err := store.JetStream().OrderedConsumer(ctx, store.StreamName(), jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
		InactiveThreshold: eventsInactive, MaxResetAttempts: eventsResets,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("events: ordered consumer: %w", err)
	}
	drop := func() {
		if info := cons.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = store.JetStream().DeleteConsumer(dctx, store.StreamName(), info.Name)
		}
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(eventsBuffer))
	if err != nil {
		drop()
		return nil, nil, fmt.Errorf("events: consumer messages: %w", err)
	}
	return it, func() { it.Stop(); drop() }, nil
}

type eventsQuery struct {
	types  []string
	appID  string
	after  uint64 // the last sequence the client has; the stream starts at after+1
	resume bool   // after was given
}

func parseEventsQuery(c echo.Context) (eventsQuery, error) {
	q := eventsQuery{appID: c.QueryParam("app_id")}
	for t := range strings.SplitSeq(c.QueryParam("types"), ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if _, err := path.Match(t, ""); err != nil {
			return q, invalidField("types", fmt.Sprintf("%q is not a valid pattern", t))
		}
		q.types = append(q.types, t)
	}
	field, raw := "Last-Event-ID", c.Request().Header.Get("Last-Event-ID")
	if raw == "" {
		field, raw = "after", c.QueryParam("after")
	}
	if raw == "" {
		return q, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(raw), 10, 64)
	if err != nil || n == math.MaxUint64 {
		return q, invalidField(field, "must be a stream sequence (a non-negative integer)")
	}
	q.after, q.resume = n, true
	return q, nil
}

// stream writes the frames the pump makes, and heartbeats, until the client goes away,
// the server shuts down, a write fails or the consumer fails (the client then resumes).
func (s *Server) stream(c echo.Context, it jetstream.MessagesContext, f *eventFilter, after uint64) error {
	ctx, cancel := context.WithCancel(c.Request().Context())
	frames := make(chan []byte, 16)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { errc <- f.pump(ctx, it, frames) })
	defer wg.Wait()
	defer it.Stop() // a consumer reset inside Next does not hear ctx: Stop ends it
	defer cancel()
	s.metrics.subscribers.Inc()
	defer s.metrics.subscribers.Dec()
	if openSSE(c, after) != nil {
		return nil
	}
	tick := time.NewTicker(s.heartbeatEvery())
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		case perr := <-errc:
			if ctx.Err() == nil {
				s.log.WithError(perr).WithField("user_id", f.user).Warn("events: stream ended")
			}
			return nil
		case frame := <-frames:
			err = send(c, frame)
		case <-tick.C:
			err = send(c, []byte(": heartbeat\n\n"))
		}
		if err != nil {
			return nil // the client is gone
		}
	}
}

// openSSE answers 200 with the stream's headers and its opening block: the reconnection
// delay and the position the stream starts after.
func openSSE(c echo.Context, after uint64) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	c.Response().WriteHeader(http.StatusOK)
	return send(c, fmt.Appendf(nil, "retry: %d\nid: %d\n\n", sseRetryMillis, after))
}

func send(c echo.Context, b []byte) error {
	if _, err := c.Response().Write(b); err != nil {
		return err
	}
	return http.NewResponseController(c.Response().Writer).Flush()
}

// eventFilter keeps one caller's events and makes their frames. Only its pump uses it.
type eventFilter struct {
	user   string
	types  []string
	owners map[string]string // app → owner; "" when the app does not exist
	cmds   *command.Handler  // reads an app's owner from the log
	log    logrus.FieldLogger
}

// pump turns the consumer's messages into frames until ctx ends or the consumer fails.
func (f *eventFilter) pump(ctx context.Context, it jetstream.MessagesContext, out chan<- []byte) error {
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return err
		}
		frame, err := f.frame(ctx, msg)
		if err != nil {
			return err
		}
		if frame != nil {
			select {
			case out <- frame:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// frame is a message's SSE frame, or nil when the message is not for this stream.
func (f *eventFilter) frame(ctx context.Context, msg jetstream.Msg) ([]byte, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return nil, fmt.Errorf("message metadata: %w", err)
	}
	seq, subject, h, data := meta.Sequence.Stream, msg.Subject(), msg.Headers(), msg.Data()
	typ := h.Get(eventstore.HeaderType)
	if typ == (app.Created{}).EventType() {
		if env, err := f.cmds.Store().Decode(subject, h, data, seq); err == nil {
			if e, ok := env.Data.(app.Created); ok {
				f.remember(e.AppID, e.OwnerID)
			}
		}
	}
	if !f.wants(typ) {
		return nil, nil
	}
	if ok, err := f.owns(ctx, subject); err != nil || !ok {
		return nil, err
	}
	env, err := f.cmds.Store().Decode(subject, h, data, seq)
	var frame []byte
	if err == nil {
		frame, err = sseFrame(env, h, data)
	}
	if err != nil { // not the caller's concern: the stream goes on
		f.log.Warnf("events: skipping message %d on %s: %v", seq, subject, err)
	}
	return frame, nil
}

func (f *eventFilter) wants(typ string) bool {
	return len(f.types) == 0 || slices.ContainsFunc(f.types, func(p string) bool { ok, _ := path.Match(p, typ); return ok })
}

// owns: the caller's own subject, or an app whose owner is the caller (learnt from the
// app.created events passing by, else read from the log once).
func (f *eventFilter) owns(ctx context.Context, subject string) (bool, error) {
	if subject == domain.UserSubject(f.user) {
		return true, nil
	}
	id := domain.AppOfSubject(subject)
	if id == "" {
		return false, nil
	}
	owner, known := f.owners[id]
	if !known {
		st, _, err := f.cmds.LoadApp(ctx, id)
		if err != nil {
			return false, fmt.Errorf("owner of app %s: %w", id, err)
		}
		owner = st.OwnerID
		f.remember(id, owner)
	}
	return owner == f.user, nil
}

func (f *eventFilter) remember(appID, owner string) {
	if _, known := f.owners[appID]; !known && len(f.owners) >= ownersCap {
		for k := range f.owners { // forget any one: it is read again if needed
			delete(f.owners, k)
			break
		}
	}
	f.owners[appID] = owner
}

// requireApp answers 404 unless the caller owns the app; the stream then needs no lookups.
func (f *eventFilter) requireApp(ctx context.Context, id string) error {
	if !domain.ValidID(id) {
		return problemf(http.StatusNotFound, "the app does not exist")
	}
	st, _, err := f.cmds.LoadApp(ctx, id)
	if err != nil {
		return err
	}
	if !st.OwnedBy(f.user) {
		return problemf(http.StatusNotFound, "the app does not exist")
	}
	f.remember(id, f.user)
	return nil
}

// cloudEvent is the CloudEvents structured JSON form of a stored message.
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	SchemaVersion   int             `json:"schemaversion"`
	Data            json.RawMessage `json:"data"`
	CommandID       string          `json:"commandid,omitempty"`
	RequestID       string          `json:"requestid,omitempty"`
	CorrelationID   string          `json:"correlationid,omitempty"`
	CausationID     string          `json:"causationid,omitempty"`
}

// sseFrame is one event: the data is the stored JSON with the version it was stored at
// (not upcast), compacted onto one line by json.Marshal.
func sseFrame(env domain.Envelope, h nats.Header, data []byte) ([]byte, error) {
	version := 1
	if v, err := strconv.Atoi(h.Get(eventstore.HeaderSchemaVersion)); err == nil {
		version = v
	}
	body, err := json.Marshal(cloudEvent{SpecVersion: "1.0", ID: env.ID, Source: h.Get(eventstore.HeaderSource),
		Type: env.Type, Subject: env.Subject, Time: env.Time.Format(time.RFC3339Nano),
		DataContentType: "application/json", SchemaVersion: version, Data: data,
		CommandID: env.Meta.CommandID, RequestID: env.Meta.RequestID,
		CorrelationID: env.Meta.CorrelationID, CausationID: env.Meta.CausationID})
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "id: %d\nevent: %s\ndata: %s\n\n", env.Seq, env.Type, body), nil
}
