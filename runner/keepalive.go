package runner

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/eventstore"
)

// keeper holds the deliveries a JetStream source fetched and that are not settled yet,
// and tells the server every period that each is still in progress. A job waits for a
// worker, for its batch's limits, for its evaluation and for its append: the sum can
// outlast AckWait, and the request would then be sent again by another runner. With
// every held delivery kept alive, AckWait only bounds how long the deliveries of a dead
// runner, or those lost with a stream leader, stay unseen.
type keeper struct {
	mu sync.Mutex
	ds map[*eventstore.Delivery]struct{}
}

func newKeeper() *keeper { return &keeper{ds: map[*eventstore.Delivery]struct{}{}} }

func (k *keeper) add(ds []*eventstore.Delivery) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range ds {
		k.ds[d] = struct{}{}
	}
}

// drop forgets a delivery being settled at once: a settled one would otherwise hold its
// message (its body) until the next tick.
func (k *keeper) drop(d *eventstore.Delivery) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.ds, d)
}

// run keeps the deliveries alive until ctx ends; one settled without drop (terminated,
// handed back on stop) is dropped here: the client refuses to send anything more for it.
func (k *keeper) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(max(every, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.mu.Lock()
		held := make([]*eventstore.Delivery, 0, len(k.ds))
		for d := range k.ds {
			held = append(held, d)
		}
		k.mu.Unlock()
		var settled []*eventstore.Delivery
		for _, d := range held {
			if err := d.InProgress(); errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
				settled = append(settled, d)
			}
		}
		k.mu.Lock()
		for _, d := range settled {
			delete(k.ds, d)
		}
		k.mu.Unlock()
	}
}
