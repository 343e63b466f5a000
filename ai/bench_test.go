package ai_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
)

// BenchmarkLLM50Interfaces: 50 interfaces through the LLM path (prompt, call, parse,
// validate, complete) against a fake server answering in 200 ms, 8 calls at once. The
// ceiling is ceil(50/8) round trips, each measured in the same run; the goal is < 2 s.
func BenchmarkLLM50Interfaces(b *testing.B) {
	const n, conc, latency = 50, 8, 200 * time.Millisecond
	f := newFakeLLM(b, answer{content: goodCases, delay: latency})
	g := newGen(b, f.client(b, 10*time.Second, conc))
	defs := petDefs(n)
	// One round trip alone, for the ceiling.
	start := time.Now()
	if _, _, err := g.Generate(context.Background(), defs[0], casegen.Options{Seed: 1, MaxCases: 50}, ""); err != nil {
		b.Fatal(err)
	}
	rtt := time.Since(start)
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				cases, info, err := g.Generate(context.Background(), defs[i], casegen.Options{Seed: uint64(i), MaxCases: 50}, "")
				switch {
				case err != nil:
					errs[i] = err
				case info.Generator != "llm" || len(cases) == 0 || cases[0].Source != "llm":
					errs[i] = fmt.Errorf("interface %d: %+v", i, info)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(math.Ceil(float64(n)/conc)*rtt.Seconds(), "ceiling-s")
	b.ReportMetric(rtt.Seconds(), "rtt-s")
}

// petDefs are n distinct interfaces of the shape the fake's answer fits.
func petDefs(n int) []iface.Definition {
	out := make([]iface.Definition, n)
	for i := range out {
		d := petDef
		d.Name = fmt.Sprintf("create pet %d", i)
		out[i] = d
	}
	return out
}
