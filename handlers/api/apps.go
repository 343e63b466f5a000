package api

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/handlers/command"
)

// appBody is POST /apps and, every field optional, PATCH /apps/{app_id}.
type appBody struct {
	Name               *string            `json:"name"`
	Description        *string            `json:"description"`
	Environments       *[]app.Environment `json:"environments"`
	DefaultEnvironment *string            `json:"default_environment"`
	NotifyEmails       *[]string          `json:"notify_emails"`
	DisabledChecks     *[]string          `json:"disabled_checks"`
}

func (b appBody) patch() app.Patch {
	return app.Patch{Name: b.Name, Description: b.Description, Environments: b.Environments,
		DefaultEnvironment: b.DefaultEnvironment, NotifyEmails: b.NotifyEmails, DisabledChecks: b.DisabledChecks}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (s *Server) createApp(c echo.Context) error {
	var b appBody
	if err := bind(c, &b); err != nil {
		return err
	}
	def := app.Definition{Name: deref(b.Name), Description: deref(b.Description), Environments: deref(b.Environments),
		DefaultEnvironment: deref(b.DefaultEnvironment), NotifyEmails: deref(b.NotifyEmails), DisabledChecks: deref(b.DisabledChecks)}
	id := command.NewID()
	return s.command(c, "app.create", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		res, err := s.deps.Commands.App(ctx, meta, id, app.Create{AppID: id, ActorID: meta.UserID, App: def, At: s.deps.Commands.Now()})
		return accepted{ID: id}, "/api/v1/apps/" + id, res, err
	})
}

func (s *Server) updateApp(c echo.Context) error {
	var b appBody
	if err := bind(c, &b); err != nil {
		return err
	}
	id := c.Param("app_id")
	return s.command(c, "app.update", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		res, err := s.deps.Commands.App(ctx, meta, id, app.Update{AppID: id, ActorID: meta.UserID, Patch: b.patch(), At: s.deps.Commands.Now()})
		return accepted{ID: id}, "/api/v1/apps/" + id, res, err
	})
}

func (s *Server) archiveApp(c echo.Context) error {
	id := c.Param("app_id")
	return s.command(c, "app.archive", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		res, err := s.deps.Commands.App(ctx, meta, id, app.Archive{AppID: id, ActorID: meta.UserID, At: s.deps.Commands.Now()})
		return accepted{ID: id}, "/api/v1/apps/" + id, res, err
	})
}

func (s *Server) getApp(c echo.Context) error {
	a, err := s.deps.Tables.GetApp(c.Request().Context(), userOf(c), c.Param("app_id"))
	if err != nil {
		return err
	}
	return s.answer(c, a)
}

func (s *Server) listApps(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	l, err := s.deps.Tables.ListApps(c.Request().Context(), userOf(c), p)
	if err != nil {
		return err
	}
	return s.answer(c, l)
}
