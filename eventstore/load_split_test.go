package eventstore_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/assay-dev/assay/domain"
)

// Overlapping filters (read one filter at a time) still give each event once, in order;
// an empty filter adds nothing.
func TestLoadOverlappingFilters(t *testing.T) {
	t.Parallel()
	s := start(t)
	var want []uint64
	for i := range 4 {
		for _, key := range []string{"ov.a", "ov.b"} {
			want = append(want, mustAppend(t, s, nil, env(key, i))[0].Seq)
		}
		mustAppend(t, s, nil, env("noise", i))
	}
	envs, last, err := s.Load(testCtx(t), "events.test.ov.*", "events.test.ov.a", "events.test.ov.none")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs(envs), want) || last != want[len(want)-1] {
		t.Fatalf("seqs %v last %d, want %v", seqs(envs), last, want)
	}
}

// A load over two wildcard filters (read one at a time) while both keep growing is the
// prefix the server reads with both filters at once: every event on either up to last.
func TestLoadFiltersWhileAppending(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := testCtx(t)
	filters := []string{"events.test.grow.a.*", "events.test.grow.b.*"}
	mustAppend(t, s, nil, env("grow.a.x", 0), env("grow.b.x", 0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Append(ctx, nil, env([]string{"grow.a.x", "grow.b.y", "noise"}[i%3], i)); err != nil && ctx.Err() == nil {
				t.Errorf("background append: %v", err)
				return
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	waitAppended(t, s, "events.test.grow.b.y", 20)
	for range 10 {
		envs, last, err := s.Load(ctx, filters...)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint64
		if err := s.Replay(ctx, 0, last, filters, func(e domain.Envelope) error {
			want = append(want, e.Seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs(envs), want) || want[len(want)-1] != last {
			t.Fatalf("load to %d: seqs %v, want %v", last, seqs(envs), want)
		}
	}
}
