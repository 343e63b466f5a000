package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/handlers/command"
	"github.com/assay-dev/assay/handlers/importer"
)

// importDocument turns an OpenAPI document or a Postman collection into interfaces. The
// whole document is parsed and every interface validated before anything is appended; an
// operation imported before (same source key) is redefined rather than duplicated.
func (s *Server) importDocument(c echo.Context) error {
	if !mediaIs(c.Request().Header.Get(echo.HeaderContentType), "application/json", "application/yaml", "application/x-yaml",
		"text/yaml", "text/x-yaml", "application/vnd.oai.openapi", "application/vnd.oai.openapi+json", "text/plain") {
		return problemf(http.StatusUnsupportedMediaType, "send the document as application/json or application/yaml")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problemf(http.StatusRequestEntityTooLarge, fmt.Sprintf("the document is larger than %d bytes", mbe.Limit))
		}
		return problemf(http.StatusBadRequest, "the body could not be read")
	}
	// Put the body back: an Idempotency-Key's request hash is taken over it afterwards.
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	ctx := c.Request().Context()
	doc, err := importer.Parse(ctx, body)
	var de *importer.DocumentError
	if errors.As(err, &de) {
		return &httpError{status: http.StatusUnprocessableEntity, detail: "the document cannot be imported: " + de.Message}
	}
	if err != nil {
		return err
	}
	if len(doc.Interfaces) == 0 { // an import that imports nothing is the document's fault
		detail := "the document has no operation that can be imported"
		if len(doc.Warnings) > 0 {
			detail += ": " + strings.Join(doc.Warnings[:min(len(doc.Warnings), 5)], "; ")
		}
		return &httpError{status: http.StatusUnprocessableEntity, detail: detail}
	}
	appID := c.Param("app_id")
	return s.command(c, "interface.import", func(ctx context.Context, meta domain.Metadata) (accepted, string, command.Result, error) {
		return s.importInterfaces(ctx, meta, appID, doc.Interfaces)
	})
}

func (s *Server) importInterfaces(ctx context.Context, meta domain.Metadata, appID string, defs []iface.Definition) (accepted, string, command.Result, error) {
	a, _, err := s.deps.Commands.LoadApp(ctx, appID)
	if err != nil {
		return accepted{}, "", command.Result{}, err
	}
	if !a.Exists() || !domain.May(meta.UserID, a.OwnerID) {
		return accepted{}, "", command.Result{}, domain.NotFound("app", appID)
	}
	// What would stop the import half-way is refused before anything is appended.
	if a.Archived {
		return accepted{}, "", command.Result{}, domain.Conflict("app %q is archived and takes no imports", appID)
	}
	if err := s.storable(defs); err != nil {
		return accepted{}, "", command.Result{}, err
	}
	existing, err := s.deps.Commands.LoadInterfaces(ctx, appID)
	if err != nil {
		return accepted{}, "", command.Result{}, err
	}
	bySource := map[string]string{}
	for _, i := range existing {
		if i.Exists() && i.Def.SourceKey != "" {
			bySource[i.Def.SourceKey] = i.ID
		}
	}
	out := accepted{IDs: make([]string, 0, len(defs))}
	var last command.Result
	for n, def := range defs {
		m := meta
		m.CommandID = fmt.Sprintf("%s/%d", meta.CommandID, n) // one command per interface, each idempotent
		id, cmd := bySource[def.SourceKey], iface.Command(nil)
		if id != "" {
			cmd = iface.Redefine{InterfaceID: id, ActorID: meta.UserID, Def: def, At: s.deps.Commands.Now()}
		} else {
			id = command.NewID()
			cmd = iface.Define{InterfaceID: id, ActorID: meta.UserID, App: app.State{ID: appID}, Def: def, At: s.deps.Commands.Now()}
		}
		res, err := s.deps.Commands.Interface(ctx, m, id, cmd)
		if err != nil {
			return out, "", last, fmt.Errorf("import %s %s (%d of %d imported): %w", def.Method, def.Path, n, len(defs), err)
		}
		out.IDs = append(out.IDs, id)
		if res.Seq > last.Seq {
			last.Seq = res.Seq
		}
		last.Events = append(last.Events, res.Events...)
	}
	if last.Seq == 0 {
		last.Seq, _ = s.deps.Commands.Store().LastSeq(ctx)
	}
	out.ID = appID
	return out, "/api/v1/apps/" + appID + "/interfaces", last, nil
}

// eventHeadroom is what an interface event carries besides its definition (ids, time,
// the changed fields, the message's headers).
const eventHeadroom = 8 << 10

// storable refuses an imported operation the log or the read side could not store: one
// larger than the log's largest message, or with a NUL character in a text field.
func (s *Server) storable(defs []iface.Definition) error {
	var limit int64
	if nc := s.deps.Commands.Store().JetStream().Conn(); nc != nil {
		limit = nc.MaxPayload()
	}
	for _, def := range defs {
		op := def.Method + " " + def.Path
		if err := noNUL(reflect.ValueOf(def), ""); err != nil {
			return &httpError{status: http.StatusUnprocessableEntity, detail: "the document cannot be imported: " + op +
				" has a NUL character (\\u0000) in " + err.(*httpError).fields[0].Field}
		}
		if err := checkContentType(def.ContentType); err != nil {
			return &httpError{status: http.StatusUnprocessableEntity, detail: "the document cannot be imported: " + op +
				" has a media type of more than 255 characters"}
		}
		b, err := json.Marshal(def)
		if err != nil {
			return fmt.Errorf("import %s: %w", op, err)
		}
		if limit > 0 && int64(len(b))+eventHeadroom > limit {
			return problemf(http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"the document cannot be imported: %s is %d bytes as an interface; at most %d can be stored", op, len(b), limit-eventHeadroom))
		}
	}
	return nil
}
