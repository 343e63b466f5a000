package api

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/handlers/command"
)

// caseBody is POST /interfaces/{interface_id}/cases and, every field optional, PATCH.
type caseBody struct {
	Name       *string             `json:"name"`
	Class      *string             `json:"class"`
	Priority   *string             `json:"priority"`
	Request    *testcase.Request   `json:"request"`
	Assertions *[]assert.Assertion `json:"assertions"`
	Extract    *map[string]string  `json:"extract"`
	Enabled    *bool               `json:"enabled"`
}

func (s *Server) addCase(c echo.Context) error {
	var b caseBody
	if err := bind(c, &b); err != nil {
		return err
	}
	ifaceID, id := c.Param("interface_id"), command.NewID()
	k := testcase.Case{ID: id, Name: deref(b.Name), Class: deref(b.Class), Priority: deref(b.Priority), Request: deref(b.Request),
		Assertions: deref(b.Assertions), Extract: deref(b.Extract), Enabled: b.Enabled == nil || *b.Enabled}
	return s.command(c, "interface.add_case", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		res, err := s.deps.Commands.Interface(ctx, meta, ifaceID, iface.AddCase{InterfaceID: ifaceID, ActorID: meta.UserID, Case: k, At: s.deps.Commands.Now()})
		return accepted{ID: id}, "/api/v1/cases/" + id, res, err
	})
}

func (s *Server) updateCase(c echo.Context) error {
	var b caseBody
	if err := bind(c, &b); err != nil {
		return err
	}
	patch := iface.CasePatch{Name: b.Name, Class: b.Class, Priority: b.Priority, Request: b.Request,
		Assertions: b.Assertions, Extract: b.Extract, Enabled: b.Enabled}
	return s.caseCommand(c, "interface.update_case", func(ifaceID, caseID, actor string) iface.Command {
		return iface.UpdateCase{InterfaceID: ifaceID, ActorID: actor, CaseID: caseID, Patch: patch, At: s.deps.Commands.Now()}
	})
}

func (s *Server) deleteCase(c echo.Context) error {
	return s.caseCommand(c, "interface.delete_case", func(ifaceID, caseID, actor string) iface.Command {
		return iface.DeleteCase{InterfaceID: ifaceID, ActorID: actor, CaseID: caseID, At: s.deps.Commands.Now()}
	})
}

// caseCommand finds the case's interface in the read side (cases are addressed by their
// own id) and sends the command to that interface.
func (s *Server) caseCommand(c echo.Context, name string, mk func(ifaceID, caseID, actor string) iface.Command) error {
	caseID := c.Param("case_id")
	ifaceID, err := s.deps.Tables.InterfaceOfCase(c.Request().Context(), userOf(c), caseID)
	if err != nil {
		return err
	}
	return s.command(c, name, func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		res, err := s.deps.Commands.Interface(ctx, meta, ifaceID, mk(ifaceID, caseID, meta.UserID))
		return accepted{ID: caseID}, "/api/v1/cases/" + caseID, res, err
	})
}

func (s *Server) getCase(c echo.Context) error {
	k, err := s.deps.Tables.GetCase(c.Request().Context(), userOf(c), c.Param("case_id"))
	if err != nil {
		return err
	}
	return s.answer(c, k)
}

func (s *Server) listCases(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	ctx, owner, ifaceID := c.Request().Context(), userOf(c), c.Param("interface_id")
	if _, err := s.deps.Tables.GetInterface(ctx, owner, ifaceID); err != nil {
		return err
	}
	l, err := s.deps.Tables.ListCases(ctx, owner, ifaceID, p)
	if err != nil {
		return err
	}
	return s.answer(c, l)
}
