package batch

import (
	"encoding/json"
	"math"
	"slices"

	"github.com/assay-dev/assay/domain"
)

// summarize counts outcomes (cases without a result are canceled) and the latency
// percentiles of the cases that got a response.
func summarize(s State) (Totals, Latency) {
	t := Totals{Total: len(s.Cases)}
	var d []float64
	for id := range s.Cases {
		r, ok := s.Results[id]
		if !ok {
			t.Canceled++
			continue
		}
		switch r.Outcome {
		case Passed:
			t.Passed++
		case Failed:
			t.Failed++
		case Errored:
			t.Errored++
		case Canceled:
			t.Canceled++
		}
		if r.Outcome == Passed || r.Outcome == Failed {
			d = append(d, r.DurationMS)
		}
	}
	slices.Sort(d)
	return t, Latency{P50: Percentile(d, 50), P95: Percentile(d, 95), P99: Percentile(d, 99)}
}

// Percentile is the nearest-rank percentile of sorted values (0 when empty).
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	// p·n first, then /100: p/100·n rounds up past an exact rank (99.9 of 1000 gave 1000).
	rank := int(math.Ceil(p * float64(len(sorted)) / 100))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func decideRecordAnalysis(s State, c RecordAnalysis) ([]domain.Event, error) {
	if s.Completed == nil {
		return nil, domain.Conflict("batch %q has not completed yet", s.ID)
	}
	var p domain.Problems
	p.Check(len(c.Analysis) > 0, "analysis", "is required")
	p.Check(len(c.Analysis) == 0 || json.Valid(c.Analysis), "analysis", "must be a JSON document")
	p.Check(c.Narrator == "llm" || c.Narrator == "rules", "narrator", "must be llm or rules")
	if err := p.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{Analyzed{AppID: s.AppID, BatchID: s.ID, Analysis: c.Analysis, Narrator: c.Narrator,
		Model: c.Model, Fallback: c.Fallback, Revision: s.Analyses + 1, At: c.At}}, nil
}

func decideRecordReport(s State, c RecordReport) ([]domain.Event, error) {
	if s.Analyses == 0 {
		return nil, domain.Conflict("batch %q has not been analysed yet", s.ID)
	}
	if len(c.Formats) == 0 {
		return nil, domain.Invalid("formats", "is required")
	}
	return []domain.Event{ReportGenerated{AppID: s.AppID, BatchID: s.ID, Formats: c.Formats, Digests: c.Digests,
		AsOfSeq: c.AsOfSeq, Revision: s.Reports + 1, At: c.At}}, nil
}

func decideRequestNotification(s State, c RequestNotification) ([]domain.Event, error) {
	var p domain.Problems
	p.Check(len(c.Emails) <= 100, "emails", "must have at most 100 addresses")
	p.CheckEmails("emails", c.Emails)
	if err := p.Err(); err != nil {
		return nil, err
	}
	if s.Reports == 0 {
		return nil, domain.Conflict("batch %q has no report yet", s.ID)
	}
	return []domain.Event{NotificationRequested{AppID: s.AppID, BatchID: s.ID, Emails: c.Emails, At: c.At}}, nil
}

func decideRecordNotification(s State, c RecordNotification) ([]domain.Event, error) {
	if s.Reports == 0 {
		return nil, domain.Conflict("batch %q has no report yet", s.ID)
	}
	switch c.Outcome {
	case NotificationOutcomeSent:
		return []domain.Event{NotificationSent{AppID: s.AppID, BatchID: s.ID, Recipients: c.Recipients, Attempts: c.Attempts, At: c.At}}, nil
	case NotificationOutcomeFailed:
		return []domain.Event{NotificationFailed{AppID: s.AppID, BatchID: s.ID, Recipients: c.Recipients, Reason: c.Reason, Attempts: c.Attempts, At: c.At}}, nil
	case NotificationOutcomeSkipped:
		return []domain.Event{NotificationSkipped{AppID: s.AppID, BatchID: s.ID, Reason: c.Reason, At: c.At}}, nil
	}
	return nil, domain.Invalid("outcome", "must be sent, failed or skipped")
}
