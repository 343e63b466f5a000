package reactor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/projections/reports"
)

// ReportName is the report reactor's durable consumer; it reads the batches' own subjects.
const ReportName = "reactor-report"

// Reporter renders a batch's report in every format once it is analysed and records
// batch.report_generated with each rendering's digest. The renderings themselves are not
// stored: they are made again from the log on request, byte for byte.
type Reporter struct{ cmd *command.Handler }

// NewReporter makes the reporter.
func NewReporter(cmd *command.Handler) *Reporter { return &Reporter{cmd: cmd} }

// Reactor is the durable consumer running r.
func (r *Reporter) Reactor(cfg Config, log logrus.FieldLogger, reg prometheus.Registerer) (*Reactor, error) {
	if cfg.Name == "" {
		cfg.Name = ReportName
	}
	if len(cfg.Filters) == 0 {
		cfg.Filters = AnalyzeFilters
	}
	return New(r.cmd.Store(), cfg, r.Handle, log, reg)
}

// Handle reacts to batch.analyzed.
func (r *Reporter) Handle(ctx context.Context, env domain.Envelope) error {
	e, ok := env.Data.(batch.Analyzed)
	if !ok {
		return nil
	}
	evs, last, err := r.cmd.Store().Load(ctx, domain.BatchSubject(e.AppID, e.BatchID), domain.BatchTree(e.AppID, e.BatchID))
	if err != nil {
		return err
	}
	in, err := reports.FromEvents(evs)
	if err != nil {
		return Permanent(fmt.Errorf("report of batch %s: %w", e.BatchID, err))
	}
	digests := map[string]string{}
	for _, f := range reports.Formats {
		body, _, err := reports.Render(in, f)
		if err != nil {
			return Permanent(fmt.Errorf("report of batch %s as %s: %w", e.BatchID, f, err))
		}
		sum := sha256.Sum256(body)
		digests[f] = "sha256:" + hex.EncodeToString(sum[:])
	}
	meta := domain.Metadata{CommandID: "report-" + env.ID, UserID: domain.System, CorrelationID: env.Meta.CorrelationID,
		CausationID: env.ID, RequestID: env.Meta.RequestID}
	cmd := batch.RecordReport{BatchID: e.BatchID, ActorID: domain.System, Formats: reports.Formats, Digests: digests,
		AsOfSeq: last, At: r.cmd.Now()}
	_, err = r.cmd.Batch(ctx, meta, e.BatchID, cmd)
	switch {
	case err == nil, errors.Is(err, domain.ErrConflict):
		return nil
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrInvalid):
		return Permanent(err)
	}
	return err
}
