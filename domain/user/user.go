// Package user is the User aggregate. Passwords never enter the log: the log is readable by
// subscribers, so credentials live in a primary store beside it.
package user

import (
	"strings"
	"time"

	"github.com/assay-dev/assay/domain"
)

// Registered: someone signed up.
type Registered struct {
	UserID string    `json:"user_id"`
	Email  string    `json:"email"`
	Name   string    `json:"name"`
	At     time.Time `json:"at"`
}

func (Registered) EventType() string { return "user.registered" }

func (e Registered) Subject() string { return domain.UserSubject(e.UserID) }

// Register adds the user's events to a catalog.
func Register(c *domain.Catalog) { domain.Register[Registered](c, 1) }

// State is a user as the log knows them.
type State struct {
	ID, Email, Name string
	RegisteredAt    time.Time
}

// Command is a user command.
type Command interface{ isCommand() }

// SignUp registers a user. Email uniqueness is kept by the credentials store, which is
// written before this command is sent.
type SignUp struct {
	UserID, Email, Name string
	At                  time.Time
}

func (SignUp) isCommand() {}

// NormalizeEmail is the form emails are compared and stored in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Decider is the User aggregate.
var Decider = domain.Decider[State, Command]{
	Initial: func() State { return State{} },
	Decide:  Decide,
	Evolve:  Evolve,
}

// Decide turns a command into events or a typed error.
func Decide(s State, c Command) ([]domain.Event, error) {
	switch c := c.(type) {
	case SignUp:
		var p domain.Problems
		p.CheckID("user_id", c.UserID)
		p.Check(domain.ValidEmail(c.Email), "email", "must be an email address")
		p.CheckText("name", c.Name, 1, 200)
		if err := p.Err(); err != nil {
			return nil, err
		}
		if s.ID != "" {
			return nil, domain.Conflict("user %q already registered", c.UserID)
		}
		return []domain.Event{Registered{UserID: c.UserID, Email: NormalizeEmail(c.Email), Name: c.Name, At: c.At}}, nil
	default:
		return nil, domain.Invalid("command", "unknown user command %T", c)
	}
}

// Evolve folds one event into the state.
func Evolve(s State, e domain.Event) State {
	if e, ok := e.(Registered); ok {
		return State{ID: e.UserID, Email: e.Email, Name: e.Name, RegisteredAt: e.At}
	}
	return s
}
