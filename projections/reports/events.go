package reports

import (
	"errors"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
)

// ErrNoSubmission is returned by FromEvents when the events hold no batch.submitted.
var ErrNoSubmission = errors.New("reports: no batch.submitted among the events")

// FromEvents builds an Input from a batch's loaded events: its batch.submitted, its results
// (the last one per case), its batch.completed and its latest batch.analyzed (highest
// revision, then latest in the log). Other events, and events of other batches, are ignored.
func FromEvents(evs []domain.Envelope) (Input, error) {
	var in Input
	found := false
	for _, e := range evs {
		if s, ok := asSubmitted(e.Data); ok {
			in.Submitted, found = s, true
			break
		}
	}
	if !found {
		return Input{}, ErrNoSubmission
	}
	mine := func(batchID string) bool {
		return in.Submitted.BatchID == "" || batchID == "" || batchID == in.Submitted.BatchID
	}
	index := map[string]int{}
	analyzedRev := -1
	for _, e := range evs {
		switch d := e.Data.(type) {
		case batch.CaseExecuted:
			addResult(&in, index, d, mine)
		case *batch.CaseExecuted:
			if d != nil {
				addResult(&in, index, *d, mine)
			}
		case batch.Completed:
			if mine(d.BatchID) {
				c := d
				in.Completed = &c
			}
		case *batch.Completed:
			if d != nil && mine(d.BatchID) {
				c := *d
				in.Completed = &c
			}
		case batch.Analyzed:
			addAnalysis(&in, &analyzedRev, d, mine)
		case *batch.Analyzed:
			if d != nil {
				addAnalysis(&in, &analyzedRev, *d, mine)
			}
		}
	}
	return in, nil
}

func asSubmitted(ev domain.Event) (batch.Submitted, bool) {
	switch d := ev.(type) {
	case batch.Submitted:
		return d, true
	case *batch.Submitted:
		if d != nil {
			return *d, true
		}
	}
	return batch.Submitted{}, false
}

func addResult(in *Input, index map[string]int, r batch.CaseExecuted, mine func(string) bool) {
	if !mine(r.BatchID) {
		return
	}
	if i, ok := index[r.CaseID]; ok {
		in.Results[i] = r
		return
	}
	index[r.CaseID] = len(in.Results)
	in.Results = append(in.Results, r)
}

func addAnalysis(in *Input, rev *int, a batch.Analyzed, mine func(string) bool) {
	if !mine(a.BatchID) || a.Revision < *rev {
		return
	}
	*rev = a.Revision
	in.Analysis = a.Analysis
}
