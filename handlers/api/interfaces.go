package api

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/handlers/command"
)

// interfaceBody is POST /apps/{app_id}/interfaces and, every field optional, PATCH.
type interfaceBody struct {
	Name        *string                    `json:"name"`
	Method      *string                    `json:"method"`
	Path        *string                    `json:"path"`
	Description *string                    `json:"description"`
	Headers     *json.RawMessage           `json:"headers"`
	PathParams  *json.RawMessage           `json:"path_params"`
	Query       *json.RawMessage           `json:"query"`
	Body        *json.RawMessage           `json:"body"`
	ContentType *string                    `json:"content_type"`
	Responses   *map[string]iface.Response `json:"responses"`
}

// maxContentType is what the read side's content_type column holds: a longer one would
// halt it (iface.Definition.Validate does not limit it).
const maxContentType = 255

func checkContentType(ct string) error {
	if utf8.RuneCountInString(ct) > maxContentType {
		return invalidField("content_type", fmt.Sprintf("must have at most %d characters", maxContentType))
	}
	return nil
}

func (b interfaceBody) definition() iface.Definition {
	return iface.Definition{Name: deref(b.Name), Method: deref(b.Method), Path: deref(b.Path), Description: deref(b.Description),
		Headers: deref(b.Headers), PathParams: deref(b.PathParams), Query: deref(b.Query), Body: deref(b.Body),
		ContentType: deref(b.ContentType), Responses: deref(b.Responses), Source: "manual"}
}

func (b interfaceBody) patch() iface.Patch {
	return iface.Patch{Name: b.Name, Method: b.Method, Path: b.Path, Description: b.Description, ContentType: b.ContentType,
		Headers: b.Headers, PathParams: b.PathParams, Query: b.Query, Body: b.Body, Responses: b.Responses}
}

func (s *Server) defineInterface(c echo.Context) error {
	var b interfaceBody
	if err := bind(c, &b); err != nil {
		return err
	}
	if err := checkContentType(deref(b.ContentType)); err != nil {
		return err
	}
	appID, id := c.Param("app_id"), command.NewID()
	return s.command(c, "interface.define", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		cmd := iface.Define{InterfaceID: id, ActorID: meta.UserID, App: app.State{ID: appID}, Def: b.definition(), At: s.deps.Commands.Now()}
		res, err := s.deps.Commands.Interface(ctx, meta, id, cmd)
		return accepted{ID: id}, "/api/v1/interfaces/" + id, res, err
	})
}

func (s *Server) updateInterface(c echo.Context) error {
	var b interfaceBody
	if err := bind(c, &b); err != nil {
		return err
	}
	if err := checkContentType(deref(b.ContentType)); err != nil {
		return err
	}
	id := c.Param("interface_id")
	return s.command(c, "interface.update", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		res, err := s.deps.Commands.Interface(ctx, meta, id, iface.Update{InterfaceID: id, ActorID: meta.UserID, Patch: b.patch(), At: s.deps.Commands.Now()})
		return accepted{ID: id}, "/api/v1/interfaces/" + id, res, err
	})
}

func (s *Server) deleteInterface(c echo.Context) error {
	id := c.Param("interface_id")
	return s.command(c, "interface.delete", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		res, err := s.deps.Commands.Interface(ctx, meta, id, iface.Delete{InterfaceID: id, ActorID: meta.UserID, At: s.deps.Commands.Now()})
		return accepted{ID: id}, "/api/v1/interfaces/" + id, res, err
	})
}

func (s *Server) getInterface(c echo.Context) error {
	i, err := s.deps.Tables.GetInterface(c.Request().Context(), userOf(c), c.Param("interface_id"))
	if err != nil {
		return err
	}
	return s.answer(c, i)
}

func (s *Server) listInterfaces(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	ctx, owner, appID := c.Request().Context(), userOf(c), c.Param("app_id")
	if _, err := s.deps.Tables.GetApp(ctx, owner, appID); err != nil {
		return err // another user's app is not found, not an empty list
	}
	l, err := s.deps.Tables.ListInterfaces(ctx, owner, appID, p)
	if err != nil {
		return err
	}
	return s.answer(c, l)
}

type generationBody struct {
	Generator *string `json:"generator"`
	MaxCases  *int    `json:"max_cases"`
	Hints     *string `json:"hints"`
}

func (s *Server) requestGeneration(c echo.Context) error {
	var b generationBody
	if c.Request().ContentLength != 0 {
		if err := bind(c, &b); err != nil {
			return err
		}
	}
	ifaceID, id := c.Param("interface_id"), command.NewID()
	return s.command(c, "interface.request_generation", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		cmd := iface.RequestGeneration{InterfaceID: ifaceID, ActorID: meta.UserID, GenerationID: id, At: s.deps.Commands.Now(),
			Options: iface.GenerationOptions{Generator: deref(b.Generator), MaxCases: deref(b.MaxCases), Hints: deref(b.Hints)}}
		res, err := s.deps.Commands.Interface(ctx, meta, ifaceID, cmd)
		return accepted{ID: id}, "/api/v1/generations/" + id, res, err
	})
}

func (s *Server) getGeneration(c echo.Context) error {
	g, err := s.deps.Tables.GetGeneration(c.Request().Context(), userOf(c), c.Param("generation_id"))
	if err != nil {
		return err
	}
	return s.answer(c, g)
}
