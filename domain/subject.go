package domain

import "strings"

// Subjects: the subject tree is the ownership tree, so one wildcard selects all an app owns.
const SubjectRoot = "events"

// UserSubject is a user's aggregate.
func UserSubject(user string) string { return SubjectRoot + ".user." + user }

// AppSubject is an app's aggregate.
func AppSubject(app string) string { return SubjectRoot + ".app." + app }

// AppTree selects everything an app owns.
func AppTree(app string) string { return AppSubject(app) + ".>" }

// InterfaceSubject is an interface's aggregate: the interface, its cases and generations.
func InterfaceSubject(app, iface string) string { return AppSubject(app) + ".interface." + iface }

// InterfacesOf selects every interface of an app.
func InterfacesOf(app string) string { return AppSubject(app) + ".interface.*" }

// BatchSubject is a batch's own subject.
func BatchSubject(app, batch string) string { return AppSubject(app) + ".batch." + batch }

// BatchTree selects a batch's requests and results (not its own subject).
func BatchTree(app, batch string) string { return BatchSubject(app, batch) + ".>" }

// ExecSubject holds the one execution request of a case in a batch.
func ExecSubject(app, batch, kase string) string { return BatchSubject(app, batch) + ".exec." + kase }

// ResultSubject holds the one result of a case in a batch.
func ResultSubject(app, batch, kase string) string {
	return BatchSubject(app, batch) + ".result." + kase
}

// ValidID says whether s can be one token of a subject: IDs are opaque but must not
// contain the subject separators or wildcards, nor whitespace.
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return !strings.ContainsAny(s, ".*> \t\r\n")
}

// CheckID adds a field error when id cannot be an ID.
func (p *Problems) CheckID(field, id string) {
	p.Check(ValidID(id), field, "must be a non-empty id of at most 64 characters without '.', '*', '>' or spaces")
}

// AppOfSubject is the app a subject belongs to ("" for user subjects).
func AppOfSubject(subject string) string {
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) >= 3 && parts[0] == SubjectRoot && parts[1] == "app" {
		return parts[2]
	}
	return ""
}

// System is the actor of commands that reactors send on the system's behalf. User IDs are
// generated UUIDs, so no user can have it.
const System = "@system"

// May is true when actor may act on a resource of owner.
func May(actor, owner string) bool { return actor == System || (actor != "" && actor == owner) }
