package eventstore

import "time"

// KeepAlive tells the server every period, until stop is called, that each of ds is
// still being worked on, so none is delivered again (to another replica) while the
// caller holds it: a consumer that handles a fetch one delivery after another, or in one
// long transaction, may otherwise outlast AckWait. A delivery already settled is
// skipped by the client. AckWait then only bounds how long the deliveries of a dead (or
// cut off) process stay unseen.
func KeepAlive(ds []*Delivery, every time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(max(every, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, d := range ds {
					_ = d.InProgress()
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}
