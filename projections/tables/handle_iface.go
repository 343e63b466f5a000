package tables

import (
	"encoding/json"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
)

func (u *unit) applyInterface(env domain.Envelope) error {
	switch e := env.Data.(type) {
	case iface.Defined:
		u.owners[e.AppID] = e.OwnerID
		return u.putInterface(env, e.AppID, e.InterfaceID, e.OwnerID, e.Interface, e.Version, e.At)
	case iface.Updated:
		return u.putInterface(env, e.AppID, e.InterfaceID, u.ownerOf(e.AppID), e.Interface, e.Version, e.At)
	case iface.Deleted:
		en := u.ifaces.touch(e.InterfaceID, env.Seq, nil)
		if en == nil {
			return nil
		}
		at := when(env, e.At)
		en.row.DeletedAt, en.row.UpdatedAt, en.row.Seq = mark(at), at, env.Seq
		return u.ifaces.done(en)
	}
	return nil
}

// putInterface stores an interface's whole definition (defined and updated carry all of it).
func (u *unit) putInterface(env domain.Envelope, app, id, owner string, d iface.Definition, version int, eventAt time.Time) error {
	at := when(env, eventAt)
	en := u.ifaces.touch(id, env.Seq, func() ifaceRow {
		return ifaceRow{ID: id, AppID: app, OwnerID: owner, CreatedAt: at, CreatedSeq: env.Seq}
	})
	if en == nil {
		return nil
	}
	r := &en.row
	if r.OwnerID == "" {
		r.OwnerID = owner
	}
	r.Name, r.Method, r.Path, r.Description = d.Name, d.Method, d.Path, d.Description
	r.ContentType, r.Source, r.SourceKey, r.Version = d.ContentType, d.Source, d.SourceKey, version
	var j jsonFields
	j.raw(&r.Headers, d.Headers)
	j.raw(&r.PathParams, d.PathParams)
	j.raw(&r.Query, d.Query)
	j.raw(&r.Body, d.Body)
	j.enc(&r.Responses, d.Responses, "{}")
	if j.err != nil {
		return j.err
	}
	r.UpdatedAt, r.Seq = at, env.Seq
	return u.ifaces.done(en)
}

func (u *unit) newGeneration(seq uint64, app, ifc, id string) func() genRow {
	return func() genRow {
		return genRow{ID: id, InterfaceID: ifc, AppID: app, OwnerID: u.ownerOf(app), Status: iface.Pending,
			Options: "{}", CaseIDs: "[]", Dropped: "[]", CreatedSeq: seq}
	}
}

func (u *unit) applyGeneration(env domain.Envelope) error {
	switch e := env.Data.(type) {
	case iface.CasesGenerationRequested:
		en := u.gens.touch(e.GenerationID, env.Seq, u.newGeneration(env.Seq, e.AppID, e.InterfaceID, e.GenerationID))
		if en == nil {
			return nil
		}
		r := &en.row
		r.Status, r.Generator, r.InterfaceVersion = iface.Pending, e.Options.Generator, e.InterfaceVersion
		r.RequestedAt, r.Seq = when(env, e.At), env.Seq
		var j jsonFields
		if j.enc(&r.Options, e.Options, "{}"); j.err != nil {
			return j.err
		}
		return u.gens.done(en)
	case iface.CasesGenerated:
		return u.generated(env, e)
	case iface.CasesGenerationFailed:
		en := u.gens.touch(e.GenerationID, env.Seq, u.newGeneration(env.Seq, e.AppID, e.InterfaceID, e.GenerationID))
		if en == nil {
			return nil
		}
		en.row.Status, en.row.Reason, en.row.FinishedAt, en.row.Seq = iface.Failed, e.Reason, when(env, e.At), env.Seq
		return u.gens.done(en)
	}
	return nil
}

// generated records a finished generation, drops the cases it replaced and stores its cases.
func (u *unit) generated(env domain.Envelope, e iface.CasesGenerated) error {
	at := when(env, e.At)
	if en := u.gens.touch(e.GenerationID, env.Seq, u.newGeneration(env.Seq, e.AppID, e.InterfaceID, e.GenerationID)); en != nil {
		r, info := &en.row, e.Info
		r.Status, r.Generator, r.Model, r.PromptVersion = iface.Done, info.Generator, info.Model, info.PromptVersion
		r.FallbackReason, r.TokensIn, r.TokensOut, r.DurationMS = info.FallbackReason, info.TokensIn, info.TokensOut, info.DurationMS
		r.Reason, r.FinishedAt, r.Seq = "", at, env.Seq
		ids := make([]string, len(e.Cases))
		for i, c := range e.Cases {
			ids[i] = c.ID
		}
		var j jsonFields
		j.enc(&r.CaseIDs, ids, "[]")
		j.enc(&r.Dropped, info.Dropped, "[]")
		if j.err != nil {
			return j.err
		}
		if err := u.gens.done(en); err != nil {
			return err
		}
	}
	for _, id := range e.Replaced {
		if err := u.dropCase(env, id, at); err != nil {
			return err
		}
	}
	for i, c := range e.Cases {
		if err := u.putCase(env, e.AppID, e.InterfaceID, c, at, i); err != nil {
			return err
		}
	}
	return nil
}

func (u *unit) applyCase(env domain.Envelope) error {
	switch e := env.Data.(type) {
	case iface.CaseAdded:
		return u.putCase(env, e.AppID, e.InterfaceID, e.Case, when(env, e.At), 0)
	case iface.CaseUpdated:
		return u.putCase(env, e.AppID, e.InterfaceID, e.Case, when(env, e.At), 0)
	case iface.CaseDeleted:
		return u.dropCase(env, e.CaseID, when(env, e.At))
	}
	return nil
}

// putCase stores a whole case. A case that is new, or was deleted, takes its place at the
// end of the interface's list (created_seq, position), as the aggregate orders its cases.
func (u *unit) putCase(env domain.Envelope, app, ifc string, c testcase.Case, at time.Time, pos int) error {
	en := u.cases.touch(c.ID, env.Seq, func() caseRow { return caseRow{ID: c.ID} })
	if en == nil {
		return nil
	}
	r := &en.row
	if r.CreatedSeq == 0 || !r.DeletedAt.IsZero() {
		r.CreatedSeq, r.Position, r.CreatedAt, r.DeletedAt = env.Seq, pos, at, time.Time{}
	}
	if o := u.ownerOf(app); o != "" || r.OwnerID == "" {
		r.OwnerID = o
	}
	r.InterfaceID, r.AppID, r.Name, r.Class, r.Priority = ifc, app, c.Name, c.Class, c.Priority
	r.Enabled, r.Source, r.GenerationID, r.Reason = c.Enabled, c.Source, c.GenerationID, c.Reason
	var j jsonFields
	j.enc(&r.Request, requestDocOf(c.Request), "{}")
	j.enc(&r.Assertions, c.Assertions, "[]")
	j.enc(&r.Extract, c.Extract, "{}")
	if j.err != nil {
		return j.err
	}
	r.UpdatedAt, r.Seq = at, env.Seq
	return u.cases.done(en)
}

func (u *unit) dropCase(env domain.Envelope, id string, at time.Time) error {
	en := u.cases.touch(id, env.Seq, nil)
	if en == nil {
		return nil
	}
	en.row.DeletedAt, en.row.UpdatedAt, en.row.Seq = mark(at), at, env.Seq
	return u.cases.done(en)
}

// requestDoc is a case's request as API.md shows it: every key present.
type requestDoc struct {
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	PathParams map[string]any    `json:"path_params"`
	Query      map[string]any    `json:"query"`
	Headers    map[string]string `json:"headers"`
	Body       json.RawMessage   `json:"body"`
}

func requestDocOf(r testcase.Request) requestDoc {
	d := requestDoc{Method: r.Method, Path: r.Path, PathParams: r.PathParams, Query: r.Query, Headers: r.Headers, Body: r.Body}
	if d.PathParams == nil {
		d.PathParams = map[string]any{}
	}
	if d.Query == nil {
		d.Query = map[string]any{}
	}
	if d.Headers == nil {
		d.Headers = map[string]string{}
	}
	if len(d.Body) == 0 {
		d.Body = json.RawMessage("null")
	}
	return d
}
