package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/assay-dev/assay/projections/tables"
)

const (
	headerSeq    = "X-Assay-Seq"
	headerMinSeq = "X-Assay-Min-Seq"
)

// applied is what a Waiter knows without asking the database.
type applied interface{ Applied() uint64 }

// consistent serves a query only once the read side has applied the sequence the caller
// asked for (min_seq or X-Assay-Min-Seq), waiting at most MinSeqWait, and stamps the answer
// with the sequence the read side had applied (X-Assay-Seq).
func (s *Server) consistent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw := c.QueryParam("min_seq")
		if raw == "" {
			raw = c.Request().Header.Get(headerMinSeq)
		}
		if raw != "" {
			min, err := strconv.ParseUint(raw, 10, 64)
			if err != nil {
				return invalidField("min_seq", "must be a stream sequence (a non-negative integer)")
			}
			if err := s.waitFor(c, min); err != nil {
				return &httpError{status: http.StatusServiceUnavailable, retryAfter: 1,
					detail: "the read side has not reached sequence " + raw + " yet: " + err.Error()}
			}
		}
		seq, err := s.appliedSeq(c.Request().Context())
		if err != nil {
			return err
		}
		c.Response().Header().Set(headerSeq, strconv.FormatUint(seq, 10))
		return next(c)
	}
}

func (s *Server) waitFor(c echo.Context, seq uint64) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.MinSeqWait)
	defer cancel()
	return s.deps.Waiter.WaitFor(ctx, seq)
}

func (s *Server) appliedSeq(ctx context.Context) (uint64, error) {
	if a, ok := s.deps.Waiter.(applied); ok {
		return a.Applied(), nil
	}
	return s.deps.Tables.AppliedSeq(ctx)
}

// answer writes a query's answer.
func (s *Server) answer(c echo.Context, v any) error { return c.JSON(http.StatusOK, v) }

// page reads limit and cursor.
func page(c echo.Context) (tables.Page, error) {
	p := tables.Page{Cursor: c.QueryParam("cursor")}
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > tables.MaxLimit {
			return p, invalidField("limit", "must be between 1 and 500")
		}
		p.Limit = n
	}
	return p, nil
}
