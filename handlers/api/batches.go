package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/projections/reports"
)

type batchBody struct {
	Environment   *string   `json:"environment"`
	InterfaceIDs  *[]string `json:"interface_ids"`
	CaseIDs       *[]string `json:"case_ids"`
	Concurrency   *int      `json:"concurrency"`
	RatePerSecond *float64  `json:"rate_per_second"`
	TimeoutMS     *int      `json:"timeout_ms"`
	NotifyEmails  *[]string `json:"notify_emails"`
}

func (s *Server) submitBatch(c echo.Context) error {
	var b batchBody
	if c.Request().ContentLength != 0 {
		if err := bind(c, &b); err != nil {
			return err
		}
	}
	appID, id := c.Param("app_id"), command.NewID()
	cmd := batch.Submit{BatchID: id, App: app.State{ID: appID},
		Selection: batch.Selection{Environment: deref(b.Environment), InterfaceIDs: deref(b.InterfaceIDs), CaseIDs: deref(b.CaseIDs)},
		Settings: batch.Settings{Concurrency: deref(b.Concurrency), RatePerSecond: deref(b.RatePerSecond), TimeoutMS: deref(b.TimeoutMS),
			NotifyEmails: deref(b.NotifyEmails)}}
	return s.command(c, "batch.submit", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		cmd.ActorID, cmd.At = meta.UserID, s.deps.Commands.Now()
		res, err := s.deps.Commands.Batch(ctx, meta, id, cmd)
		return accepted{ID: id}, "/api/v1/batches/" + id, res, err
	})
}

// batchCommand sends a command that needs nothing but the batch id and the caller.
func (s *Server) batchCommand(c echo.Context, name string, mk func(id, actor string) batch.Command) error {
	id := c.Param("batch_id")
	return s.command(c, name, func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		res, err := s.deps.Commands.Batch(ctx, meta, id, mk(id, meta.UserID))
		return accepted{ID: id}, "/api/v1/batches/" + id, res, err
	})
}

func (s *Server) cancelBatch(c echo.Context) error {
	return s.batchCommand(c, "batch.cancel", func(id, actor string) batch.Command {
		return batch.Cancel{BatchID: id, ActorID: actor, At: s.deps.Commands.Now()}
	})
}

func (s *Server) reanalyze(c echo.Context) error {
	return s.batchCommand(c, "batch.request_analysis", func(id, actor string) batch.Command {
		return batch.RequestAnalysis{BatchID: id, ActorID: actor, At: s.deps.Commands.Now()}
	})
}

type notifyBody struct {
	Emails *[]string `json:"emails"`
}

func (s *Server) notify(c echo.Context) error {
	var b notifyBody
	if c.Request().ContentLength != 0 {
		if err := bind(c, &b); err != nil {
			return err
		}
	}
	return s.batchCommand(c, "batch.request_notification", func(id, actor string) batch.Command {
		return batch.RequestNotification{BatchID: id, ActorID: actor, Emails: deref(b.Emails), At: s.deps.Commands.Now()}
	})
}

// getBatch answers from the table, with the live counts of the Redis view while it runs.
// A finished batch changes only through the tables, so its answer is cached per read-side
// sequence.
func (s *Server) getBatch(c echo.Context) error {
	ctx := c.Request().Context()
	key := userOf(c) + "/" + c.Param("batch_id")
	seq, err := s.appliedSeq(ctx)
	if err != nil {
		return err
	}
	if b, ok := s.batches.get(key, seq); ok {
		return s.answer(c, b)
	}
	b, err := s.deps.Tables.GetBatch(ctx, userOf(c), c.Param("batch_id"))
	if err != nil {
		return err
	}
	if b.Status != batch.StatusRunning {
		s.batches.put(key, seq, b)
	}
	if b.Status == batch.StatusRunning && s.deps.Views != nil {
		if p, found, err := s.deps.Views.BatchProgress(ctx, b.ID); err == nil && found {
			b.Passed, b.Failed, b.Errored, b.Canceled = p.Passed, p.Failed, p.Errored, p.Canceled
		}
	}
	return s.answer(c, b)
}

func (s *Server) listBatches(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	ctx, owner, appID := c.Request().Context(), userOf(c), c.Param("app_id")
	if _, err := s.deps.Tables.GetApp(ctx, owner, appID); err != nil {
		return err
	}
	l, err := s.deps.Tables.ListBatches(ctx, owner, appID, p)
	if err != nil {
		return err
	}
	return s.answer(c, l)
}

var outcomes = map[string]bool{"": true, batch.Passed: true, batch.Failed: true, batch.Errored: true, batch.Canceled: true}

func (s *Server) listResults(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	outcome := c.QueryParam("outcome")
	if !outcomes[outcome] {
		return invalidField("outcome", "must be passed, failed, errored or canceled")
	}
	ctx, owner, id := c.Request().Context(), userOf(c), c.Param("batch_id")
	if _, err := s.deps.Tables.GetBatch(ctx, owner, id); err != nil {
		return err
	}
	l, err := s.deps.Tables.ListResults(ctx, owner, id, outcome, p)
	if err != nil {
		return err
	}
	return s.answer(c, l)
}

func (s *Server) getAnalysis(c echo.Context) error {
	a, err := s.deps.Tables.GetAnalysis(c.Request().Context(), userOf(c), c.Param("batch_id"))
	if err != nil {
		return err
	}
	return s.answer(c, a)
}

// getReport renders the batch's report from its events (html, json, junit, md: by
// ?format, else by Accept); without either it answers the report's metadata. A batch has
// a report once batch.report_generated was recorded.
func (s *Server) getReport(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := s.deps.Tables.GetReport(ctx, userOf(c), c.Param("batch_id"))
	if err != nil {
		return err
	}
	format := reportFormat(c)
	if format == "" {
		return c.JSON(http.StatusOK, r)
	}
	if !slices.Contains(reports.Formats, format) {
		return invalidField("format", "must be html, json, junit or md")
	}
	b, err := s.deps.Tables.GetBatch(ctx, userOf(c), r.BatchID)
	if err != nil {
		return err
	}
	evs, _, err := s.deps.Commands.Store().Load(ctx, domain.BatchSubject(b.AppID, b.ID), domain.BatchTree(b.AppID, b.ID))
	if err != nil {
		return err
	}
	in, err := reports.FromEvents(evs)
	if err != nil {
		return err
	}
	body, ctype, err := reports.Render(in, format)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, ctype, body)
}

// reportFormat is ?format, else the first rendering Accept names ("" = the metadata).
func reportFormat(c echo.Context) string {
	if f := c.QueryParam("format"); f != "" {
		return f
	}
	accept := c.Request().Header.Get(echo.HeaderAccept)
	for _, m := range [][2]string{{"text/html", reports.HTML}, {"application/xml", reports.JUnit}, {"text/markdown", reports.Markdown}} {
		if strings.Contains(accept, m[0]) {
			return m[1]
		}
	}
	return ""
}
