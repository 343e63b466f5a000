package testenv

import (
	"strings"
	"testing"
	"time"
)

// privateLocks points the lock files at a directory of the test's own, so the real
// locks of other test processes are neither taken nor waited for.
func privateLocks(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
}

func lockAsync(t *testing.T, exclusive bool) <-chan *brokerLock {
	c := make(chan *brokerLock, 1)
	go func() {
		l, err := lockBroker(t, exclusive)
		if err != nil {
			t.Error(err)
		}
		c <- l
	}()
	return c
}

func notYet(t *testing.T, c <-chan *brokerLock, what string) {
	t.Helper()
	select {
	case <-c:
		t.Fatalf("%s got the lock too early", what)
	case <-time.After(150 * time.Millisecond):
	}
}

func got(t *testing.T, c <-chan *brokerLock, what string) *brokerLock {
	t.Helper()
	select {
	case l := <-c:
		if l == nil {
			t.FailNow()
		}
		return l
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not get the lock", what)
		return nil
	}
}

func TestBrokerLockSharedThenExclusive(t *testing.T) {
	privateLocks(t)
	a := got(t, lockAsync(t, false), "reader a")
	b := got(t, lockAsync(t, false), "reader b") // readers share
	w := lockAsync(t, true)
	notYet(t, w, "the writer (two readers hold the lock)")
	// A reader arriving while the writer waits queues behind it: no starvation.
	r := lockAsync(t, false)
	notYet(t, r, "a late reader (a writer waits)")
	a.close()
	notYet(t, w, "the writer (one reader still holds the lock)")
	b.close()
	wl := got(t, w, "the writer")
	notYet(t, r, "a late reader (the writer holds the lock)")
	wl.close()
	got(t, r, "the late reader").close()
}

func TestBrokerLockTimeout(t *testing.T) {
	privateLocks(t)
	defer func(d time.Duration) { brokerLockTimeout = d }(brokerLockTimeout)
	brokerLockTimeout = 200 * time.Millisecond
	r, err := lockBroker(t, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if _, err := lockBroker(t, true); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("exclusive lock while a reader holds it: %v, want a timeout", err)
	}
}

func TestHoldBrokerRefusesUpgrade(t *testing.T) {
	privateLocks(t)
	f := &fakeTB{}
	defer held.Delete(f)
	_, returned := call(f, func(tb testing.TB) string {
		holdBroker(tb, false)
		holdBroker(tb, false) // again: nothing more
		holdBroker(tb, true)
		return ""
	})
	if returned || !strings.Contains(f.fatal, "ExclusiveAMQPURL") || f.cleanups != 1 {
		t.Fatalf("returned=%v fatal=%q cleanups=%d; want one hold, then a failure naming ExclusiveAMQPURL", returned, f.fatal, f.cleanups)
	}
	l, _ := held.Load(f)
	l.(*brokerLock).close()
}
