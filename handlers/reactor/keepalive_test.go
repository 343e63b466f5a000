package reactor_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/handlers/reactor"
)

// The events of one fetch that wait behind others (their wait is the sum of the handling
// before them, here well over AckWait) are kept in progress too: none is delivered again
// to the other replica, which is pulling meanwhile.
func TestReactorKeepsTheWholeFetchInProgress(t *testing.T) {
	for _, parallel := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallel %d", parallel), func(t *testing.T) {
			t.Parallel()
			const n, each = 8, 400 * time.Millisecond // in order: the last waits 2.8 s, AckWait is 1 s
			e := setup(t)
			for i := range n {
				e.submit(submitted(fmt.Sprintf("b-%d", i), plainCases(1)))
			}
			var mu sync.Mutex
			calls := map[string]int{}
			name := fmt.Sprintf("test-keepalive-%d", parallel)
			handle := func(ctx context.Context, env domain.Envelope) error {
				if s, ok := env.Data.(batch.Submitted); ok {
					mu.Lock()
					calls[s.BatchID]++
					mu.Unlock()
				}
				select {
				case <-time.After(each):
				case <-ctx.Done():
				}
				return nil
			}
			for range 2 { // two replicas: one takes the whole fetch, the other waits for more
				r, err := reactor.New(e.store, reactor.Config{Name: name, Filters: reactor.BatchFilters, BatchSize: n,
					MaxWait: 50 * time.Millisecond, AckWait: time.Second, Parallel: parallel}, handle, quietLog(), prometheus.NewRegistry())
				if err != nil {
					t.Fatal(err)
				}
				e.run(r)
			}
			handled := func() int { mu.Lock(); defer mu.Unlock(); return len(calls) }
			e.eventually("every batch handled", func() bool { return handled() == n })
			time.Sleep(1500 * time.Millisecond) // longer than AckWait: a lapsed one would be handled again
			cons, err := e.store.JetStream().Consumer(e.ctx, e.store.StreamName(), name)
			if err != nil {
				t.Fatal(err)
			}
			e.eventually("every event acknowledged", func() bool {
				info, err := cons.Info(e.ctx)
				return err == nil && info.NumAckPending == 0 && info.NumPending == 0
			})
			info, err := cons.Info(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for id, c := range calls {
				if c != 1 {
					t.Errorf("%s handled %d times, want once", id, c)
				}
			}
			if info.NumRedelivered != 0 {
				t.Errorf("%d events delivered again", info.NumRedelivered)
			}
		})
	}
}
