package projections

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Waiter answers read-your-writes: has the read side applied sequence seq?
type Waiter interface {
	WaitFor(ctx context.Context, seq uint64) error
}

// Watcher follows a projection that runs in another process: it hears the checkpoints the
// projector announces on NATS and, in case one is missed, reads the stored checkpoint while
// someone waits.
type Watcher struct {
	read func(ctx context.Context) (Checkpoint, error)
	poll time.Duration

	mu      sync.Mutex
	seq     uint64
	changed chan struct{}
	sub     *nats.Subscription
}

// NewWatcher starts watching projection name. nc may be nil (polling only). Close stops it.
func NewWatcher(nc *nats.Conn, name string, read func(ctx context.Context) (Checkpoint, error), poll time.Duration) (*Watcher, error) {
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	w := &Watcher{read: read, poll: poll, changed: make(chan struct{})}
	if nc != nil {
		sub, err := nc.Subscribe(CheckpointSubject(name), func(m *nats.Msg) {
			if seq, err := strconv.ParseUint(string(m.Data), 10, 64); err == nil {
				w.advance(seq)
			}
		})
		if err != nil {
			return nil, err
		}
		w.sub = sub
	}
	return w, nil
}

// Close stops listening.
func (w *Watcher) Close() {
	if w.sub != nil {
		_ = w.sub.Unsubscribe()
	}
}

func (w *Watcher) advance(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq > w.seq {
		w.seq = seq
		close(w.changed)
		w.changed = make(chan struct{})
	}
}

// Applied is the last checkpoint the watcher knows.
func (w *Watcher) Applied() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

// WaitFor blocks until the projection applied seq or ctx ends.
func (w *Watcher) WaitFor(ctx context.Context, seq uint64) error {
	t := time.NewTicker(w.poll)
	defer t.Stop()
	for first := true; ; first = false {
		w.mu.Lock()
		cur, ch := w.seq, w.changed
		w.mu.Unlock()
		if cur >= seq {
			return nil
		}
		if first || w.sub == nil {
			if cp, err := w.read(ctx); err == nil {
				w.advance(cp.Seq)
				if cp.Seq >= seq {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-t.C:
			if cp, err := w.read(ctx); err == nil {
				w.advance(cp.Seq)
			}
		}
	}
}

// All waits for every waiter.
type All []Waiter

// WaitFor blocks until every waiter reached seq.
func (a All) WaitFor(ctx context.Context, seq uint64) error {
	for _, w := range a {
		if err := w.WaitFor(ctx, seq); err != nil {
			return err
		}
	}
	return nil
}

// Applied is the least checkpoint of the waiters that know theirs without asking.
func (a All) Applied() uint64 {
	var least uint64
	first := true
	for _, w := range a {
		if k, ok := w.(interface{ Applied() uint64 }); ok {
			if v := k.Applied(); first || v < least {
				least, first = v, false
			}
		}
	}
	return least
}
