package reactor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/command"
)

// CompleterConfig tunes a Completer.
type CompleterConfig struct {
	CacheSize int              // batches kept in memory (default DefaultCacheSize)
	Now       func() time.Time // clock (default: the command handler's)
}

// Completer sends batch.Complete once every case of a batch has a result, or at once when
// the batch is canceled. It counts results in memory as the stream delivers them; a batch
// first seen mid-way is initialised from the log once. Several replicas share the stream,
// so each sees only some results: when its own count falls short, a replica asks the log
// for the exact count, but only when the result in hand could be the batch's last one.
// Each result is one stream message, so the results stored up to sequence s are at most
// the exact count last learnt (at sequence k) plus s-k: until that bound reaches the total
// no result can be the last, and no request is made. Each request narrows the bound, so a
// batch costs a replica a few requests whatever its size, and the replica holding the last
// result always asks, so the last result always completes the batch. A second Complete,
// from a redelivery or another replica, is refused by the domain (or replayed: the command
// id is fixed per batch), which is fine.
type Completer struct {
	cmd     *command.Handler
	store   *eventstore.Store
	cfg     CompleterConfig
	mu      sync.Mutex
	cache   *lru[*completeState]
	stream  jetstream.Stream // the log's stream, looked up on the first count
	lookups atomic.Int64
}

type completeState struct {
	total    int
	results  map[string]struct{}
	canceled bool
	done     bool // completed, or Complete sent
	// known results were in the log when it was last asked (or the batch submitted) while
	// handling the event at stream sequence seq: the results stored up to a sequence s > seq
	// are at most known + s - seq.
	known int
	seq   uint64
}

// mayBeComplete says whether the results stored up to sequence s can number total.
func (st *completeState) mayBeComplete(s uint64) bool {
	if s <= st.seq {
		return st.known >= st.total
	}
	return s-st.seq >= uint64(max(st.total-st.known, 0))
}

// NewCompleter builds a Completer; run it with its Reactor.
func NewCompleter(cmd *command.Handler, cfg CompleterConfig) *Completer {
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = cmd.Now
	}
	return &Completer{cmd: cmd, store: cmd.Store(), cfg: cfg, cache: newLRU[*completeState](cfg.CacheSize)}
}

// Reactor is the durable consumer running c; empty Name and Filters of cfg default to
// CompleteName and BatchFilters.
func (c *Completer) Reactor(cfg Config, log logrus.FieldLogger, reg prometheus.Registerer) (*Reactor, error) {
	if cfg.Name == "" {
		cfg.Name = CompleteName
	}
	if len(cfg.Filters) == 0 {
		cfg.Filters = BatchFilters
	}
	return New(c.store, cfg, c.Handle, log, reg)
}

// Handle reacts to one event of a batch.
func (c *Completer) Handle(ctx context.Context, env domain.Envelope) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e := env.Data.(type) {
	case batch.Submitted:
		key := batchKey(e.AppID, e.BatchID)
		if _, ok := c.cache.get(key); !ok {
			c.cache.put(key, &completeState{total: len(e.Cases), results: map[string]struct{}{}, seq: env.Seq})
		}
	case batch.CaseExecuted:
		st, err := c.state(ctx, e.AppID, e.BatchID, env.Seq)
		if err != nil || st.done {
			return err
		}
		st.results[e.CaseID] = struct{}{}
		if len(st.results) < st.total && !st.canceled {
			if !st.mayBeComplete(env.Seq) {
				return nil // results are missing whatever other replicas saw
			}
			n, err := c.exactCount(ctx, e.AppID, e.BatchID)
			if err != nil {
				return err
			}
			if env.Seq > st.seq {
				st.known, st.seq = n, env.Seq
			}
			if n < st.total {
				return nil
			}
		}
		return c.complete(ctx, st, env, e.BatchID)
	case batch.CanceledEvent:
		st, err := c.state(ctx, e.AppID, e.BatchID, env.Seq)
		if err != nil || st.done {
			return err
		}
		st.canceled = true
		return c.complete(ctx, st, env, e.BatchID)
	case batch.Completed:
		if st, ok := c.cache.get(batchKey(e.AppID, e.BatchID)); ok {
			st.done = true
		}
	}
	return nil
}

func (c *Completer) complete(ctx context.Context, st *completeState, cause domain.Envelope, batchID string) error {
	meta := domain.Metadata{CommandID: "complete-" + batchID, UserID: domain.System,
		CorrelationID: cause.Meta.CorrelationID, CausationID: cause.ID, RequestID: cause.Meta.RequestID}
	_, err := c.cmd.Batch(ctx, meta, batchID, batch.Complete{BatchID: batchID, ActorID: domain.System, At: c.cfg.Now()})
	switch {
	case err == nil:
		st.done = true
		return nil
	case errors.Is(err, domain.ErrConflict):
		// Already completed (another replica, a redelivery), or the log has fewer results
		// than counted: either way the next result or nothing more is needed.
		return nil
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrInvalid):
		return Permanent(fmt.Errorf("complete batch %s: %w", batchID, err))
	}
	return fmt.Errorf("complete batch %s: %w", batchID, err)
}

// state is the cached count of a batch; a batch first seen mid-way, by the event at stream
// sequence seq, is loaded once.
func (c *Completer) state(ctx context.Context, appID, batchID string, seq uint64) (*completeState, error) {
	key := batchKey(appID, batchID)
	if st, ok := c.cache.get(key); ok {
		return st, nil
	}
	c.lookups.Add(1)
	s, _, err := c.cmd.LoadBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	if !s.Exists() {
		return nil, Permanent(fmt.Errorf("batch %s of app %s: an event without a submitted batch", batchID, appID))
	}
	st := &completeState{total: len(s.Cases), results: make(map[string]struct{}, len(s.Results)),
		canceled: s.CancelRequested, done: s.Completed != nil, known: len(s.Results), seq: seq}
	for id := range s.Results {
		st.results[id] = struct{}{}
	}
	c.cache.put(key, st)
	return st, nil
}

// exactCount is the number of results the log holds for the batch: one stream info
// request with a subject filter, answered with the batch's result subjects (one message
// each). Its State.NumSubjects counts every subject of the stream, not the filtered ones.
func (c *Completer) exactCount(ctx context.Context, appID, batchID string) (int, error) {
	c.lookups.Add(1)
	if c.stream == nil {
		s, err := c.store.JetStream().Stream(ctx, c.store.StreamName())
		if err != nil {
			return 0, fmt.Errorf("count results of batch %s: %w", batchID, err)
		}
		c.stream = s
	}
	info, err := c.stream.Info(ctx, jetstream.WithSubjectFilter(domain.ResultSubject(appID, batchID, "*")))
	if err != nil {
		return 0, fmt.Errorf("count results of batch %s: %w", batchID, err)
	}
	return len(info.State.Subjects), nil
}

// LogLookups is how many times c has asked the log about a batch (loads and counts).
func (c *Completer) LogLookups() int64 { return c.lookups.Load() }
