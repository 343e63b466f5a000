package tables

import (
	"errors"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/user"
)

// Ignored lists the event types of the catalog this projection deliberately does not
// store: execution requests (a result row appears when the case has run; live progress is
// Redis's), and requests for work whose outcome has its own event.
var Ignored = []string{
	"batch.case_execution_requested",
	"batch.analysis_requested",
}

// collect asks for the rows an event will touch, so that load reads them all at once.
func (u *unit) collect(data domain.Event) {
	switch e := data.(type) {
	case user.Registered:
		u.users.want(e.UserID)
	case app.Created:
		u.apps.want(e.AppID)
	case app.Updated:
		u.apps.want(e.AppID)
	case app.Archived:
		u.apps.want(e.AppID)
	case iface.Defined:
		u.ifaces.want(e.InterfaceID)
	case iface.Updated:
		u.ifaces.want(e.InterfaceID)
		u.needOwner(e.AppID)
	case iface.Deleted:
		u.ifaces.want(e.InterfaceID)
	case iface.CasesGenerationRequested:
		u.gens.want(e.GenerationID)
		u.needOwner(e.AppID)
	case iface.CasesGenerated:
		u.collectGenerated(e)
	case iface.CasesGenerationFailed:
		u.gens.want(e.GenerationID)
		u.needOwner(e.AppID)
	case iface.CaseAdded:
		u.cases.want(e.Case.ID)
		u.needOwner(e.AppID)
	case iface.CaseUpdated:
		u.cases.want(e.Case.ID)
		u.needOwner(e.AppID)
	case iface.CaseDeleted:
		u.cases.want(e.CaseID)
	default:
		u.collectBatch(data)
	}
}

func (u *unit) collectGenerated(e iface.CasesGenerated) {
	u.gens.want(e.GenerationID)
	u.needOwner(e.AppID)
	for _, c := range e.Cases {
		u.cases.want(c.ID)
	}
	for _, id := range e.Replaced {
		u.cases.want(id)
	}
}

func (u *unit) collectBatch(data domain.Event) {
	switch e := data.(type) {
	case batch.Submitted:
		u.batches.want(e.BatchID)
	case batch.CaseExecuted:
		u.batches.want(e.BatchID)
		u.needOwner(e.AppID)
	case batch.CanceledEvent:
		u.batches.want(e.BatchID)
	case batch.Completed:
		u.batches.want(e.BatchID)
	case batch.Analyzed:
		u.batches.want(e.BatchID)
		u.reports.want(e.BatchID)
		u.needOwner(e.AppID)
	case batch.ReportGenerated:
		u.batches.want(e.BatchID)
		u.reports.want(e.BatchID)
		u.needOwner(e.AppID)
	case batch.NotificationRequested:
		u.wantReport(e.AppID, e.BatchID)
	case batch.NotificationSent:
		u.wantReport(e.AppID, e.BatchID)
	case batch.NotificationFailed:
		u.wantReport(e.AppID, e.BatchID)
	case batch.NotificationSkipped:
		u.wantReport(e.AppID, e.BatchID)
	}
}

func (u *unit) wantReport(app, batch string) {
	u.reports.want(batch)
	u.batches.want(batch)
	u.needOwner(app)
}

// apply folds one event into the unit's rows; an error makes it a poison event.
func (u *unit) apply(env domain.Envelope) error {
	switch e := env.Data.(type) {
	case nil:
		return errors.New("the event has no data")
	case user.Registered:
		return u.userRegistered(env, e)
	case app.Created:
		u.owners[e.AppID] = e.OwnerID
		return u.putApp(env, e.AppID, e.OwnerID, e.App, e.At)
	case app.Updated:
		return u.putApp(env, e.AppID, e.OwnerID, e.App, e.At)
	case app.Archived:
		return u.appArchived(env, e)
	case iface.Defined, iface.Updated, iface.Deleted:
		return u.applyInterface(env)
	case iface.CasesGenerationRequested, iface.CasesGenerated, iface.CasesGenerationFailed:
		return u.applyGeneration(env)
	case iface.CaseAdded, iface.CaseUpdated, iface.CaseDeleted:
		return u.applyCase(env)
	}
	return u.applyBatch(env)
}

func (u *unit) userRegistered(env domain.Envelope, e user.Registered) error {
	en := u.users.touch(e.UserID, env.Seq, func() userRow { return userRow{ID: e.UserID} })
	if en == nil {
		return nil
	}
	en.row.Email, en.row.Name, en.row.CreatedAt, en.row.Seq = e.Email, e.Name, when(env, e.At), env.Seq
	return u.users.done(en)
}

// putApp stores an app's whole definition (app.created and app.updated carry all of it).
func (u *unit) putApp(env domain.Envelope, id, owner string, def app.Definition, eventAt time.Time) error {
	at := when(env, eventAt)
	en := u.apps.touch(id, env.Seq, func() appRow {
		return appRow{ID: id, OwnerID: owner, CreatedAt: at, CreatedSeq: env.Seq}
	})
	if en == nil {
		return nil
	}
	r := &en.row
	if r.OwnerID == "" {
		r.OwnerID = owner
	}
	r.Name, r.Description, r.DefaultEnvironment = def.Name, def.Description, def.DefaultEnvironment
	var j jsonFields
	j.enc(&r.Environments, def.Environments, "[]")
	j.enc(&r.NotifyEmails, def.NotifyEmails, "[]")
	j.enc(&r.DisabledChecks, def.DisabledChecks, "[]")
	if j.err != nil {
		return j.err
	}
	r.UpdatedAt, r.Seq = at, env.Seq
	return u.apps.done(en)
}

func (u *unit) appArchived(env domain.Envelope, e app.Archived) error {
	en := u.apps.touch(e.AppID, env.Seq, nil)
	if en == nil {
		return nil
	}
	at := when(env, e.At)
	en.row.ArchivedAt, en.row.UpdatedAt, en.row.Seq = mark(at), at, env.Seq
	return u.apps.done(en)
}
