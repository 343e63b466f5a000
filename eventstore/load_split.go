package eventstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/assay-dev/assay/domain"
)

// splitLoad says whether Load reads filters one at a time (loadSplit): several filters,
// one of them a wildcard. The server serves a consumer with several filters by
// intersecting the message block's subject tree with them for every message it delivers
// (nats-server's firstMatchingMulti). Literal filters prune that walk to their own
// subjects, but a wildcard makes it visit every subject under it (every result of a
// batch, every app for events.app.*.…): a read of a batch's 6,000 events took 0.2 s on a
// fresh stream and 1–2 s once a few batches were stored beside it, while a single filter
// is a linear scan from the read's position (BENCHMARKS.md, "End to end"). Split, 30
// literal interface subjects cost more (a consumer and two requests each) than together.
func splitLoad(filters []string) bool {
	if len(filters) < 2 {
		return false
	}
	for _, f := range filters {
		if strings.ContainsAny(f, "*>") {
			return true
		}
	}
	return false
}

// loadSplit is Load over several filters: one single-filter read per filter, merged in
// stream order. The result is the multi-filter read's: every event on any filter up to
// last, the highest last sequence of the filters, each event once where filters overlap.
func (s *Store) loadSplit(ctx context.Context, filters []string) ([]domain.Envelope, uint64, error) {
	bounds, last, err := s.splitBounds(ctx, filters)
	if err != nil || last == 0 {
		return nil, 0, err
	}
	var merged []domain.Envelope
	for i, f := range filters {
		if bounds[i] == 0 {
			continue
		}
		var part []domain.Envelope
		err := s.read(ctx, []string{f}, 1, bounds[i], func(env domain.Envelope, pending uint64) error {
			if part == nil {
				part = make([]domain.Envelope, 0, min(pending, bounds[i])+1)
			}
			part = append(part, env)
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("eventstore: load %v: %w", filters, err)
		}
		merged = mergeBySeq(merged, part)
	}
	return merged, last, nil
}

// splitBounds is where each filter's read stops, and last, the highest last sequence of
// the filters. A filter asked before the one holding last may have had events appended
// since, up to last: it is asked again. The filters are asked last to first, as callers
// put a subject's tree after the subject and the tree usually holds last, so that second
// request is rare. Each bound is a stored event of its filter or last itself (with an
// event of the filter beyond it), so no read waits for an event that is not there; 0
// means the filter is empty.
func (s *Store) splitBounds(ctx context.Context, filters []string) ([]uint64, uint64, error) {
	bounds := make([]uint64, len(filters))
	var last uint64
	holder := len(filters) - 1
	for i := len(filters) - 1; i >= 0; i-- {
		seq, err := s.LastSubjectSeq(ctx, filters[i])
		if err != nil {
			return nil, 0, fmt.Errorf("eventstore: load %v: %w", filters, err)
		}
		if bounds[i] = seq; seq > last {
			last, holder = seq, i
		}
	}
	for i := holder + 1; i < len(filters); i++ {
		seq, err := s.LastSubjectSeq(ctx, filters[i])
		if err != nil {
			return nil, 0, fmt.Errorf("eventstore: load %v: %w", filters, err)
		}
		bounds[i] = seq
	}
	for i := range bounds {
		bounds[i] = min(bounds[i], last)
	}
	return bounds, last, nil
}

// mergeBySeq merges two slices sorted by sequence, keeping one of equal sequences.
func mergeBySeq(a, b []domain.Envelope) []domain.Envelope {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]domain.Envelope, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].Seq < b[j].Seq:
			out = append(out, a[i])
			i++
		case a[i].Seq > b[j].Seq:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
