package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test RabbitMQ server is shared by every test process (go test runs packages in
// parallel), and a test that restarts it would disrupt the others. So each test using it
// holds a cross-process lock on it: shared for the test's lifetime (AMQPURL), exclusive
// for a restart (ExclusiveAMQPURL, RestartRabbitMQ). Two flock(2) files make it
// writer-preferring, so a restart cannot starve while tests keep starting:
//
//	reader: turnstile SH, broker SH, turnstile UN
//	writer: turnstile EX, broker EX (both held)
//
// A writer waiting on the broker holds the turnstile, which keeps new readers out.
const (
	brokerLockFile    = "assay-test-rabbitmq.lock"
	turnstileLockFile = "assay-test-rabbitmq.turnstile"
)

// Bounds of the waits for the broker lock (variables for the package's own tests).
var (
	brokerLockTimeout = 5 * time.Minute
	brokerLockNotice  = 5 * time.Second
	brokerLockPoll    = 20 * time.Millisecond
)

// brokerLock is one test's hold on the broker; close releases it.
type brokerLock struct {
	exclusive bool
	files     []*os.File
}

func (l *brokerLock) close() {
	for _, f := range l.files {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
	l.files = nil
}

// held maps a test (testing.TB) to its hold on the broker, so RestartRabbitMQ knows
// whether the calling test already holds it, and how.
var held sync.Map

// holdBroker takes the broker lock for tb's lifetime (released by tb.Cleanup, which
// runs after the cleanups the test registers later). It fails the test after
// brokerLockTimeout and logs a waiting test every brokerLockNotice.
func holdBroker(tb testing.TB, exclusive bool) {
	tb.Helper()
	if l, ok := held.Load(tb); ok {
		if l.(*brokerLock).exclusive || !exclusive {
			return // already held, at least as strongly
		}
		tb.Fatalf("testenv: this test holds the RabbitMQ lock shared (AMQPURL) and asks for it exclusive: " +
			"that would wait for itself; call ExclusiveAMQPURL instead of AMQPURL")
		return
	}
	l, err := lockBroker(tb, exclusive)
	if err != nil {
		tb.Fatalf("testenv: RabbitMQ lock: %v", err)
		return
	}
	held.Store(tb, l)
	tb.Cleanup(func() {
		held.Delete(tb)
		l.close()
	})
}

func lockBroker(tb testing.TB, exclusive bool) (*brokerLock, error) {
	tb.Helper()
	turnstile, err := openLockFile(turnstileLockFile)
	if err != nil {
		return nil, err
	}
	broker, err := openLockFile(brokerLockFile)
	if err != nil {
		_ = turnstile.Close()
		return nil, err
	}
	l := &brokerLock{exclusive: exclusive, files: []*os.File{turnstile, broker}}
	w := waiter{tb: tb, start: time.Now(), what: "shared"}
	if exclusive {
		w.what = "exclusive"
	}
	if !exclusive {
		if err := w.flock(turnstile, syscall.LOCK_SH); err != nil {
			l.close()
			return nil, err
		}
		if err := w.flock(broker, syscall.LOCK_SH); err != nil {
			l.close()
			return nil, err
		}
		_ = syscall.Flock(int(turnstile.Fd()), syscall.LOCK_UN)
		return l, nil
	}
	if err := w.flock(turnstile, syscall.LOCK_EX); err != nil {
		l.close()
		return nil, err
	}
	if err := w.flock(broker, syscall.LOCK_EX); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// openLockFile opens its own descriptor: flock locks belong to the open file, so two
// holds in one process are as independent as in two.
func openLockFile(name string) (*os.File, error) {
	p := filepath.Join(os.TempDir(), name)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	return f, nil
}

// waiter polls a non-blocking flock so that the wait is bounded and visible.
type waiter struct {
	tb     testing.TB
	start  time.Time
	what   string
	logged time.Time
}

func (w *waiter) flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("flock %s: %w", f.Name(), err)
		}
		waited := time.Since(w.start)
		if waited > brokerLockTimeout {
			return fmt.Errorf("gave up after %v waiting for the %s lock on %s: another test holds the test RabbitMQ "+
				"server (a restart test holds it exclusively; every other AMQP test holds it shared)", waited.Round(time.Second), w.what, f.Name())
		}
		if waited > brokerLockNotice && time.Since(w.logged) > brokerLockNotice {
			w.logged = time.Now()
			w.tb.Logf("testenv: waiting %v for the %s lock on the test RabbitMQ server (%s): other tests hold it",
				waited.Round(time.Second), w.what, f.Name())
		}
		time.Sleep(brokerLockPoll)
	}
}
