package tables

import (
	"context"
	"fmt"
)

// GetInterface is one of the owner's interfaces (not deleted).
func (r *Reader) GetInterface(ctx context.Context, owner, id string) (Interface, error) {
	var row ifaceRow
	q := r.sel(&row, "api_interface").Where("r.id = ? AND r.owner_id = ? AND r.deleted_at IS NULL", id, owner)
	if err := one(ctx, q, "interface", id); err != nil {
		return Interface{}, err
	}
	return interfaceOf(row), nil
}

// ListInterfaces lists an app's interfaces in the order they were defined.
func (r *Reader) ListInterfaces(ctx context.Context, owner, app string, p Page) (List[Interface], error) {
	limit, err := p.limit()
	if err != nil {
		return List[Interface]{}, err
	}
	c, _, err := p.cursor()
	if err != nil {
		return List[Interface]{}, err
	}
	if _, err := r.GetApp(ctx, owner, app); err != nil {
		return List[Interface]{}, err
	}
	var rows []ifaceRow
	err = r.sel(&rows, "api_interface").
		Where("r.app_id = ? AND r.owner_id = ? AND r.deleted_at IS NULL AND r.created_seq > ?", app, owner, c.seq).
		OrderExpr("r.created_seq").Limit(int64(limit) + 1).Scan(ctx)
	if err != nil {
		return List[Interface]{}, fmt.Errorf("tables: list interfaces of %q: %w", app, err)
	}
	return pageOf(rows, limit, interfaceOf, func(i ifaceRow) cursor { return cursor{seq: i.CreatedSeq} }), nil
}

// InterfaceBySourceKey finds the interface an import made from an operation (source_key),
// so that importing the same document again updates it.
func (r *Reader) InterfaceBySourceKey(ctx context.Context, owner, app, key string) (Interface, error) {
	var row ifaceRow
	q := r.sel(&row, "api_interface").
		Where("r.app_id = ? AND r.source_key = ? AND r.owner_id = ? AND r.deleted_at IS NULL", app, key, owner).
		OrderExpr("r.created_seq")
	if err := one(ctx, q, "interface with source key", key); err != nil {
		return Interface{}, err
	}
	return interfaceOf(row), nil
}

// AppOfInterface is the app of one of the owner's interfaces.
func (r *Reader) AppOfInterface(ctx context.Context, owner, id string) (string, error) {
	i, err := r.GetInterface(ctx, owner, id)
	return i.AppID, err
}

func interfaceOf(i ifaceRow) Interface {
	return Interface{ID: i.ID, AppID: i.AppID, Name: i.Name, Method: i.Method, Path: i.Path, Description: i.Description,
		Headers: rawOf(i.Headers), PathParams: rawOf(i.PathParams), Query: rawOf(i.Query), Body: rawOf(i.Body),
		ContentType: i.ContentType, Responses: rawOf(i.Responses), Source: i.Source, SourceKey: i.SourceKey,
		Version: i.Version, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt}
}

// GetGeneration is one of the owner's generations.
func (r *Reader) GetGeneration(ctx context.Context, owner, id string) (Generation, error) {
	var row genRow
	if err := one(ctx, r.sel(&row, "api_generation").Where("r.id = ? AND r.owner_id = ?", id, owner), "generation", id); err != nil {
		return Generation{}, err
	}
	g := Generation{ID: row.ID, InterfaceID: row.InterfaceID, Status: row.Status, Generator: row.Generator,
		Model: row.Model, PromptVersion: row.PromptVersion, FallbackReason: row.FallbackReason, CaseIDs: rawOf(row.CaseIDs),
		TokensIn: row.TokensIn, TokensOut: row.TokensOut, Reason: row.Reason}
	if row.Status != "pending" {
		d := row.DurationMS
		g.DurationMS = &d
	}
	return g, nil
}

// ListCases lists an interface's cases in the order they were added.
func (r *Reader) ListCases(ctx context.Context, owner, iface string, p Page) (List[Case], error) {
	limit, err := p.limit()
	if err != nil {
		return List[Case]{}, err
	}
	c, _, err := p.cursor()
	if err != nil {
		return List[Case]{}, err
	}
	if _, err := r.GetInterface(ctx, owner, iface); err != nil {
		return List[Case]{}, err
	}
	var rows []caseRow
	err = r.sel(&rows, "api_testcase").
		Where("r.interface_id = ? AND r.owner_id = ? AND r.deleted_at IS NULL", iface, owner).
		Where("(r.created_seq > ? OR (r.created_seq = ? AND r.position > ?))", c.seq, c.seq, c.pos).
		OrderExpr("r.created_seq, r.position").Limit(int64(limit) + 1).Scan(ctx)
	if err != nil {
		return List[Case]{}, fmt.Errorf("tables: list cases of %q: %w", iface, err)
	}
	return pageOf(rows, limit, caseOf, func(k caseRow) cursor { return cursor{seq: k.CreatedSeq, pos: k.Position} }), nil
}

// GetCase is one of the owner's cases, of an interface that is not deleted.
func (r *Reader) GetCase(ctx context.Context, owner, id string) (Case, error) {
	var row caseRow
	q := r.sel(&row, "api_testcase").Join("JOIN api_interface AS i ON i.id = r.interface_id").
		Where("r.id = ? AND r.owner_id = ? AND r.deleted_at IS NULL AND i.deleted_at IS NULL", id, owner)
	if err := one(ctx, q, "case", id); err != nil {
		return Case{}, err
	}
	return caseOf(row), nil
}

// InterfaceOfCase is the interface of one of the owner's cases.
func (r *Reader) InterfaceOfCase(ctx context.Context, owner, id string) (string, error) {
	k, err := r.GetCase(ctx, owner, id)
	return k.InterfaceID, err
}

func caseOf(k caseRow) Case {
	c := Case{ID: k.ID, InterfaceID: k.InterfaceID, Name: k.Name, Class: k.Class, Priority: k.Priority,
		Request: rawOf(k.Request), Assertions: rawOf(k.Assertions), Enabled: k.Enabled, Source: k.Source,
		GenerationID: k.GenerationID, Reason: k.Reason}
	if k.Extract != "{}" && k.Extract != "null" && k.Extract != "" {
		c.Extract = rawOf(k.Extract)
	}
	return c
}
