package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

func (s *Server) routes() {
	e := s.echo
	e.Use(s.observe, s.recoverPanics)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.readyz)

	v1 := e.Group("/api/v1")
	v1.GET("/openapi.json", s.openAPI)
	small := limitBody(s.cfg.BodyLimit)
	v1.POST("/auth/register", s.register, s.limitAuth, small, requireJSON)
	v1.POST("/auth/login", s.login, s.limitAuth, small, requireJSON)

	auth := v1.Group("", s.authenticate)
	q := auth.Group("", s.consistent)
	cmd := auth.Group("", s.rateLimit, small, requireJSON)

	q.GET("/me", s.me)
	cmd.POST("/apps", s.createApp)
	q.GET("/apps", s.listApps)
	q.GET("/apps/:app_id", s.getApp)
	cmd.PATCH("/apps/:app_id", s.updateApp)
	cmd.DELETE("/apps/:app_id", s.archiveApp)

	cmd.POST("/apps/:app_id/interfaces", s.defineInterface)
	auth.POST("/apps/:app_id/imports", s.importDocument, s.rateLimit, limitBody(s.cfg.ImportBodyLimit))
	q.GET("/apps/:app_id/interfaces", s.listInterfaces)
	q.GET("/interfaces/:interface_id", s.getInterface)
	cmd.PATCH("/interfaces/:interface_id", s.updateInterface)
	cmd.DELETE("/interfaces/:interface_id", s.deleteInterface)
	cmd.POST("/interfaces/:interface_id/generations", s.requestGeneration)
	q.GET("/generations/:generation_id", s.getGeneration)
	q.GET("/interfaces/:interface_id/cases", s.listCases)
	cmd.POST("/interfaces/:interface_id/cases", s.addCase)
	q.GET("/cases/:case_id", s.getCase)
	cmd.PATCH("/cases/:case_id", s.updateCase, s.consistent)
	cmd.DELETE("/cases/:case_id", s.deleteCase, s.consistent)

	cmd.POST("/apps/:app_id/batches", s.submitBatch)
	q.GET("/apps/:app_id/batches", s.listBatches)
	q.GET("/batches/:batch_id", s.getBatch)
	q.GET("/batches/:batch_id/results", s.listResults)
	cmd.POST("/batches/:batch_id/cancel", s.cancelBatch)
	q.GET("/batches/:batch_id/analysis", s.getAnalysis)
	cmd.POST("/batches/:batch_id/analysis", s.reanalyze)
	q.GET("/batches/:batch_id/report", s.getReport)
	cmd.POST("/batches/:batch_id/notifications", s.notify)
	auth.GET("/events", s.events)
}

// readyz: NATS, the database and Redis reachable and no projection halted.
func (s *Server) readyz(c echo.Context) error {
	if s.deps.Ready != nil {
		if err := s.deps.Ready(c.Request().Context()); err != nil {
			return &httpError{status: http.StatusServiceUnavailable, retryAfter: 5, detail: err.Error()}
		}
	}
	return c.String(http.StatusOK, "ready\n")
}
