package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/assay-dev/assay/domain"
)

// sseBlock is one blank-line-terminated block of a stream.
type sseBlock struct {
	id, event, data string
	hasID           bool
	retry           string
	comments        []string
}

// seq is the block's id as a number (the test fails on a bad id).
func (b sseBlock) seq(t *testing.T) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(b.id, 10, 64)
	if err != nil {
		t.Fatalf("id %q: %v", b.id, err)
	}
	return n
}

// sseStream reads a response's blocks in the background.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	blocks chan sseBlock // closed at the end of the stream
	err    error         // why it ended, nil for a clean end; read once blocks is closed
	cancel context.CancelFunc
}

// openEvents opens GET /api/v1/events?query; lastID, when not empty, is sent as Last-Event-ID.
func (ts *testServer) openEvents(token, query, lastID string) *sseStream {
	ts.t.Helper()
	return ts.openEventsAt(ts.http.URL, token, query, lastID)
}

// openEventsAt is openEvents on the server at base.
func (ts *testServer) openEventsAt(base, token, query, lastID string) *sseStream {
	ts.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		cancel()
		ts.t.Fatal(err)
	}
	s := &sseStream{t: ts.t, resp: resp, blocks: make(chan sseBlock, 1024), cancel: cancel}
	ts.t.Cleanup(s.close)
	if resp.StatusCode == http.StatusOK {
		go s.read()
	}
	return s
}

func (s *sseStream) close() { s.cancel(); s.resp.Body.Close() }

func (s *sseStream) read() {
	defer close(s.blocks)
	r := bufio.NewReader(s.resp.Body)
	var b sseBlock
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err != io.EOF {
				s.err = err
			}
			return
		}
		line = strings.TrimSuffix(line, "\n")
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			if line == "" {
				s.blocks <- b
				b = sseBlock{}
			} else {
				b.comments = append(b.comments, value)
			}
		case "id":
			b.id, b.hasID = value, true
		case "event":
			b.event = value
		case "data":
			b.data += value
		case "retry":
			b.retry = value
		}
	}
}

// next is the next block, failing the test after d; ok is false at the end of the stream.
func (s *sseStream) next(d time.Duration) (sseBlock, bool) {
	s.t.Helper()
	select {
	case b, ok := <-s.blocks:
		return b, ok
	case <-time.After(d):
		s.t.Fatalf("no block within %v", d)
		return sseBlock{}, false
	}
}

// nextEvent skips blocks without data (the opening block, heartbeats).
func (s *sseStream) nextEvent() sseBlock {
	s.t.Helper()
	for {
		b, ok := s.next(10 * time.Second)
		if !ok {
			s.t.Fatal("the stream ended")
		}
		if b.data != "" {
			return b
		}
	}
}

// events reads n events.
func (s *sseStream) events(n int) []sseBlock {
	s.t.Helper()
	out := make([]sseBlock, 0, n)
	for range n {
		out = append(out, s.nextEvent())
	}
	return out
}

type ceBody struct {
	SpecVersion   string          `json:"specversion"`
	ID            string          `json:"id"`
	Source        string          `json:"source"`
	Type          string          `json:"type"`
	Subject       string          `json:"subject"`
	Time          time.Time       `json:"time"`
	ContentType   string          `json:"datacontenttype"`
	SchemaVersion int             `json:"schemaversion"`
	CommandID     string          `json:"commandid"`
	RequestID     string          `json:"requestid"`
	CorrelationID string          `json:"correlationid"`
	Data          json.RawMessage `json:"data"`
}

func (b sseBlock) cloudEvent(t *testing.T) ceBody {
	t.Helper()
	var ce ceBody
	if err := json.Unmarshal([]byte(b.data), &ce); err != nil {
		t.Fatalf("data %q: %v", b.data, err)
	}
	return ce
}

// callersSeqs are the sequences of the log's events that belong to user: their own
// subject and the subjects of the apps given.
func (ts *testServer) callersSeqs(user string, apps ...string) []uint64 {
	ts.t.Helper()
	var seqs []uint64
	err := ts.store.Replay(ts.t.Context(), 0, 0, nil, func(env domain.Envelope) error {
		if env.Subject == domain.UserSubject(user) || slices.Contains(apps, domain.AppOfSubject(env.Subject)) {
			seqs = append(seqs, env.Seq)
		}
		return nil
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return seqs
}

func seqsOf(t *testing.T, bs []sseBlock) []uint64 {
	t.Helper()
	out := make([]uint64, len(bs))
	for i, b := range bs {
		out[i] = b.seq(t)
	}
	return out
}

func TestEventsResumeExactlyOnce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a, tokA := ts.signUp()
	_, tokB := ts.signUp()
	var apps []string
	for i := range 3 {
		apps = append(apps, ts.createApp(tokA, "a"+strconv.Itoa(i)).ID)
		ts.createApp(tokB, "b")
	}
	first := ts.openEvents(tokA, "after=0", "")
	got := first.events(2)
	first.close()
	// Appended while A is away, then while A is back.
	apps = append(apps, ts.createApp(tokA, "a3").ID)
	ts.updateApp(tokA, apps[0], "changed")
	ts.createApp(tokB, "b")
	again := ts.openEvents(tokA, "after=0", got[len(got)-1].id) // Last-Event-ID wins over after
	ts.createApp(tokB, "b")
	apps = append(apps, ts.createApp(tokA, "a4").ID)
	want := ts.callersSeqs(a, apps...)
	got = append(got, again.events(len(want)-len(got))...)
	if seqs := seqsOf(t, got); !slices.Equal(seqs, want) {
		t.Fatalf("ids %v, want exactly the caller's events %v", seqs, want)
	}
	for _, b := range got {
		if ce := b.cloudEvent(t); ce.Type != b.event || ce.SpecVersion != "1.0" || ce.ID == "" ||
			ce.Source == "" || ce.Time.IsZero() || ce.ContentType != "application/json" || ce.SchemaVersion != 1 ||
			ce.CommandID == "" || ce.CorrelationID == "" || !json.Valid(ce.Data) {
			t.Fatalf("event %s: incomplete CloudEvent %s", b.id, b.data)
		}
	}
	if ce := got[0].cloudEvent(t); ce.Type != "user.registered" || ce.Subject != domain.UserSubject(a) {
		t.Fatalf("first event %s on %s, want the caller's sign-up", ce.Type, ce.Subject)
	}
}

func TestEventsOnlyTheCallers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, tokA := ts.signUp()
	b, tokB := ts.signUp()
	mine := ts.createApp(tokA, "a").ID
	other := ts.createApp(tokB, "b").ID
	for _, q := range []string{"app_id=" + other, "app_id=nope", "app_id=a.b"} {
		if s := ts.openEvents(tokA, q, ""); s.resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: status %d, want 404", q, s.resp.StatusCode)
		}
	}
	all := ts.openEvents(tokA, "", "") // only new events
	one := ts.openEvents(tokA, "app_id="+mine, "")
	all.next(5 * time.Second) // the opening block: the stream is subscribed
	one.next(5 * time.Second)
	for range 3 {
		id := ts.createApp(tokB, "b").ID
		ts.updateApp(tokB, id, "x")
		ts.updateApp(tokB, other, "y")
	}
	second := ts.createApp(tokA, "a2").ID
	last := ts.updateApp(tokA, mine, "sentinel")
	for _, s := range []*sseStream{all, one} {
		for {
			ev := s.nextEvent()
			ce := ev.cloudEvent(t)
			if app := domain.AppOfSubject(ce.Subject); app != mine && (s == one || app != second) {
				t.Fatalf("event %s on %s reached the wrong stream (B is %s)", ev.id, ce.Subject, b)
			}
			if ev.seq(t) == last.Seq {
				break
			}
		}
	}
}

func TestEventsTypes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, tok := ts.signUp()
	c1 := ts.createApp(tok, "a")
	u1 := ts.updateApp(tok, c1.ID, "x")
	c2 := ts.createApp(tok, "b")
	cases := []struct {
		query string
		want  []uint64
	}{
		{"after=0&types=app.created", []uint64{c1.Seq, c2.Seq}},
		{"after=0&types=app.*", []uint64{c1.Seq, u1.Seq, c2.Seq}},
		{"after=0&types=" + "app.updated,%20app.created", []uint64{c1.Seq, u1.Seq, c2.Seq}},
		{"after=" + strconv.FormatUint(c1.Seq, 10) + "&types=app.*", []uint64{u1.Seq, c2.Seq}},
	}
	for _, c := range cases {
		s := ts.openEvents(tok, c.query, "")
		if got := seqsOf(t, s.events(len(c.want))); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
		s.close()
	}
	for _, bad := range []struct{ query, lastID string }{{"types=app.[", ""}, {"after=x", ""}, {"after=-1", ""}, {"", "abc"}} {
		s := ts.openEvents(tok, bad.query, bad.lastID)
		if s.resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%+v: status %d, want 422", bad, s.resp.StatusCode)
		}
	}
}

func TestEventsHeadersAndHeartbeat(t *testing.T) {
	t.Parallel()
	ts := newTestServerWith(t, func(s *Server) { s.heartbeat = 50 * time.Millisecond })
	_, tok := ts.signUp()
	s := ts.openEvents(tok, "", "")
	h := s.resp.Header
	if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("headers %v", h)
	}
	open, _ := s.next(5 * time.Second)
	last, _ := ts.store.LastSeq(t.Context())
	if open.retry != "2000" || open.data != "" || open.id != strconv.FormatUint(last, 10) {
		t.Fatalf("opening block %+v, want retry 2000 and id %d", open, last)
	}
	hb, _ := s.next(ts.srv.heartbeatEvery() + 5*time.Second)
	if !slices.Equal(hb.comments, []string{"heartbeat"}) || hb.data != "" {
		t.Fatalf("block %+v, want a heartbeat", hb)
	}
}

func subscribers(t *testing.T, s *Server) float64 {
	var m dto.Metric
	if err := s.metrics.subscribers.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func TestEventsEndCleanly(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, tok := ts.signUp()
	consumers := func() int {
		st, err := ts.store.JetStream().Stream(t.Context(), ts.store.StreamName())
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5s", what)
			}
		}
	}
	base := consumers()
	gone := ts.openEvents(tok, "", "")
	gone.next(5 * time.Second)
	stays := ts.openEvents(tok, "", "")
	stays.next(5 * time.Second)
	if n := subscribers(t, ts.srv); n != 2 {
		t.Fatalf("%v subscribers, want 2", n)
	}
	gone.close() // the client goes away
	eventually("one subscriber left", func() bool { return subscribers(t, ts.srv) == 1 })
	ts.shutdown() // the server shuts down
	for _, ok := stays.next(5 * time.Second); ok; _, ok = stays.next(5 * time.Second) {
	}
	if stays.err != nil {
		t.Fatalf("the stream did not end cleanly: %v", stays.err)
	}
	eventually("no subscriber", func() bool { return subscribers(t, ts.srv) == 0 })
	eventually("consumers deleted", func() bool { return consumers() == base })
}

func TestEventsServeShutdown(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, tok := ts.signUp()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- ts.srv.Serve(ctx, ln) }()
	s := ts.openEventsAt("http://"+ln.Addr().String(), tok, "", "")
	s.next(5 * time.Second)
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return: the stream held the shutdown")
	}
	ts.once.Do(func() {}) // Serve closed stop
	for _, ok := s.next(5 * time.Second); ok; _, ok = s.next(5 * time.Second) {
	}
	if s.err != nil {
		t.Fatalf("the stream did not end cleanly: %v", s.err)
	}
}
