package command

import (
	"context"
	"fmt"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/user"
)

// Filters of each aggregate. Interfaces and batches are found by id alone (the app token
// is a wildcard), so a command never needs a read model to know where they live.
func userFilters(id string) []string  { return []string{domain.UserSubject(id)} }
func appFilters(id string) []string   { return []string{domain.AppSubject(id)} }
func ifaceFilters(id string) []string { return []string{"events.app.*.interface." + id} }
func batchFilters(id string) []string {
	return []string{"events.app.*.batch." + id, "events.app.*.batch." + id + ".>"}
}

func checkID(what, id string) error {
	if !domain.ValidID(id) {
		return domain.NotFound(what, id)
	}
	return nil
}

// User runs a user command.
func (h *Handler) User(ctx context.Context, meta domain.Metadata, userID string, cmd user.Command) (Result, error) {
	if err := checkID("user", userID); err != nil {
		return Result{}, err
	}
	return Handle(ctx, h, user.Decider, userFilters(userID), meta, cmd)
}

// App runs an app command.
func (h *Handler) App(ctx context.Context, meta domain.Metadata, appID string, cmd app.Command) (Result, error) {
	if err := checkID("app", appID); err != nil {
		return Result{}, err
	}
	return Handle(ctx, h, app.Decider, appFilters(appID), meta, cmd)
}

// Interface runs an interface command. A Define is given the app as the log has it.
func (h *Handler) Interface(ctx context.Context, meta domain.Metadata, interfaceID string, cmd iface.Command) (Result, error) {
	if err := checkID("interface", interfaceID); err != nil {
		return Result{}, err
	}
	if newWork(cmd) {
		if err := h.refuseArchived(ctx, interfaceID); err != nil {
			return Result{}, err
		}
	}
	if d, ok := cmd.(iface.Define); ok {
		if err := checkID("app", d.App.ID); err != nil {
			return Result{}, err
		}
		a, _, err := h.LoadApp(ctx, d.App.ID)
		if err != nil {
			return Result{}, err
		}
		d.App = a
		cmd = d
	}
	return Handle(ctx, h, iface.Decider, ifaceFilters(interfaceID), meta, cmd)
}

// newWork: commands that add to an interface (an archived app takes none); deleting and
// the reactors' records of work already asked for stay allowed.
func newWork(cmd iface.Command) bool {
	switch cmd.(type) {
	case iface.Update, iface.Redefine, iface.AddCase, iface.UpdateCase, iface.RequestGeneration:
		return true
	}
	return false
}

// refuseArchived answers a conflict when the interface's app is archived.
func (h *Handler) refuseArchived(ctx context.Context, interfaceID string) error {
	i, _, err := h.LoadInterface(ctx, interfaceID)
	if err != nil || !i.Exists() {
		return err // a missing interface is the decider's to answer
	}
	a, _, err := h.LoadApp(ctx, i.AppID)
	if err != nil {
		return err
	}
	if a.Archived {
		return domain.Conflict("app %q is archived and takes no new work", a.ID)
	}
	return nil
}

// Batch runs a batch command. A Submit is given the app and its interfaces as the log has
// them: a batch's cases never come from a read model.
func (h *Handler) Batch(ctx context.Context, meta domain.Metadata, batchID string, cmd batch.Command) (Result, error) {
	if err := checkID("batch", batchID); err != nil {
		return Result{}, err
	}
	if s, ok := cmd.(batch.Submit); ok {
		if err := checkID("app", s.App.ID); err != nil {
			return Result{}, err
		}
		var err error
		if s.App, _, err = h.LoadApp(ctx, s.App.ID); err != nil {
			return Result{}, err
		}
		if s.Interfaces, err = h.LoadInterfaces(ctx, s.App.ID); err != nil {
			return Result{}, err
		}
		cmd = s
	}
	return Handle(ctx, h, batch.Decider, batchFilters(batchID), meta, cmd)
}

// LoadApp folds an app's events; the zero state when it does not exist.
func (h *Handler) LoadApp(ctx context.Context, appID string) (app.State, uint64, error) {
	evs, last, err := h.store.Load(ctx, appFilters(appID)...)
	if err != nil {
		return app.State{}, 0, fmt.Errorf("load app %s: %w", appID, err)
	}
	return app.Decider.Fold(datas(evs)), last, nil
}

// LoadInterface folds an interface's events.
func (h *Handler) LoadInterface(ctx context.Context, interfaceID string) (iface.State, uint64, error) {
	if err := checkID("interface", interfaceID); err != nil {
		return iface.State{}, 0, err
	}
	evs, last, err := h.store.Load(ctx, ifaceFilters(interfaceID)...)
	if err != nil {
		return iface.State{}, 0, fmt.Errorf("load interface %s: %w", interfaceID, err)
	}
	return iface.Decider.Fold(datas(evs)), last, nil
}

// LoadBatch folds a batch's events: its own subject, its requests and results.
func (h *Handler) LoadBatch(ctx context.Context, batchID string) (batch.State, uint64, error) {
	if err := checkID("batch", batchID); err != nil {
		return batch.State{}, 0, err
	}
	evs, last, err := h.store.Load(ctx, batchFilters(batchID)...)
	if err != nil {
		return batch.State{}, 0, fmt.Errorf("load batch %s: %w", batchID, err)
	}
	return batch.Decider.Fold(datas(evs)), last, nil
}

// LoadInterfaces folds every interface of an app from one read of the log.
func (h *Handler) LoadInterfaces(ctx context.Context, appID string) ([]iface.State, error) {
	evs, _, err := h.store.Load(ctx, domain.InterfacesOf(appID))
	if err != nil {
		return nil, fmt.Errorf("load interfaces of app %s: %w", appID, err)
	}
	bySubject := map[string][]domain.Event{}
	var order []string
	for _, e := range evs {
		if _, seen := bySubject[e.Subject]; !seen {
			order = append(order, e.Subject)
		}
		bySubject[e.Subject] = append(bySubject[e.Subject], e.Data)
	}
	out := make([]iface.State, 0, len(order))
	for _, s := range order {
		out = append(out, iface.Decider.Fold(bySubject[s]))
	}
	return out, nil
}

func datas(envs []domain.Envelope) []domain.Event {
	out := make([]domain.Event, len(envs))
	for i, e := range envs {
		out[i] = e.Data
	}
	return out
}
