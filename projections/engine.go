package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/eventstore"
)

// EngineConfig tunes how a projection is fed.
type EngineConfig struct {
	BatchSize int           // events per transaction at most (default 500)
	MaxWait   time.Duration // how long a fetch waits for the first event (default 200ms)
	// AckWait: redelivery after a crash, or of deliveries lost with a stream leader
	// (default 10s: the read model lags that long). A fetch being applied is kept in
	// progress every AckWait/3 (keepAlive), so a slow transaction does not run it out.
	AckWait    time.Duration
	RetryMax   time.Duration // longest pause between retries of a transient failure (default 5s)
	HaltPoll   time.Duration // how often a halted projection checks whether it was skipped (default 1s)
	NotifyConn *nats.Conn    // optional: checkpoints are announced on CheckpointSubject for other processes
}

func (c *EngineConfig) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.MaxWait == 0 {
		c.MaxWait = 200 * time.Millisecond
	}
	if c.AckWait == 0 {
		c.AckWait = 10 * time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Second
	}
	if c.HaltPoll == 0 {
		c.HaltPoll = time.Second
	}
}

// Validate reports every bad setting.
func (c EngineConfig) Validate() error {
	var errs []error
	if c.BatchSize < 1 || c.BatchSize > 10_000 {
		errs = append(errs, fmt.Errorf("projections: BatchSize %d must be between 1 and 10000", c.BatchSize))
	}
	if c.MaxWait <= 0 || c.AckWait <= 0 || c.RetryMax <= 0 || c.HaltPoll <= 0 {
		errs = append(errs, errors.New("projections: MaxWait, AckWait, RetryMax and HaltPoll must be positive"))
	}
	return errors.Join(errs...)
}

// CheckpointSubject is where a projector announces its checkpoint after each commit (core
// NATS, outside the log), so query servers in other processes can wait for read-your-writes.
func CheckpointSubject(name string) string { return "assay.projections." + name + ".checkpoint" }

// States of a projection.
const (
	StateStarting = "starting"
	StateRunning  = "running"
	StateHalted   = "halted"
	StateStopped  = "stopped"
)

// Status is what an engine reports about its projection.
type Status struct {
	Name  string   `json:"name"`
	Seq   uint64   `json:"seq"`
	Epoch int64    `json:"epoch"`
	State string   `json:"state"`
	Halt  *Failure `json:"halt,omitempty"`
}

// Engine feeds one projection from its durable consumer. Run owns its goroutine.
type Engine struct {
	store    *eventstore.Store
	proj     Projection
	failures Failures
	cfg      EngineConfig
	metrics  *Metrics
	log      logrus.FieldLogger

	mu      sync.Mutex
	status  Status
	changed chan struct{} // closed and replaced whenever status changes
}

// NewEngine prepares an engine; Run starts it.
func NewEngine(store *eventstore.Store, p Projection, f Failures, cfg EngineConfig, m *Metrics, log logrus.FieldLogger) (*Engine, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Engine{store: store, proj: p, failures: f, cfg: cfg, metrics: m,
		log:    log.WithField("projection", p.Name()),
		status: Status{Name: p.Name(), State: StateStarting}, changed: make(chan struct{})}, nil
}

// ConsumerName is the durable consumer of a projection: stable, shared by replicas.
func ConsumerName(projection string) string { return "projection-" + projection }

// Status is the projection's current status.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.status
	return s
}

func (e *Engine) setStatus(fn func(*Status)) {
	e.mu.Lock()
	fn(&e.status)
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// WaitFor blocks until the projection has applied seq, ctx ends, or it halts below seq.
func (e *Engine) WaitFor(ctx context.Context, seq uint64) error {
	for {
		e.mu.Lock()
		s, ch := e.status, e.changed
		e.mu.Unlock()
		switch {
		case s.Seq >= seq:
			return nil
		case s.State == StateHalted:
			return fmt.Errorf("%s at %d: %w", s.Name, s.Halt.Seq, ErrHalted)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Applied is the checkpoint the engine last committed.
func (e *Engine) Applied() uint64 { return e.Status().Seq }
