package domain

import "time"

// Event is the data of one fact. Each event type knows its registered name and the
// subject it belongs to: the subject tree is the ownership tree (see DESIGN.md).
type Event interface {
	EventType() string
	Subject() string
}

// Metadata travels with an event in its headers, never in its data.
type Metadata struct {
	CommandID     string // the command that produced the event: a retried command appends nothing
	RequestID     string // the HTTP request, so one request can be followed through the pipeline
	UserID        string // who asked
	CorrelationID string // the first command of a chain (a batch and everything it caused)
	CausationID   string // the event that caused this command, for reactors
}

// Envelope is an event as stored: its data plus identity, time, version and position.
type Envelope struct {
	ID      string
	Type    string
	Version int
	Subject string
	Time    time.Time
	Seq     uint64 // stream sequence; 0 until appended
	Meta    Metadata
	Data    Event
}

// Decider is an aggregate as pure functions: Decide turns a command into events, Evolve
// folds an event into the state. Neither does I/O or reads a clock.
type Decider[S any, C any] struct {
	Initial func() S
	Decide  func(S, C) ([]Event, error)
	Evolve  func(S, Event) S
}

// Fold applies events to the initial state.
func (d Decider[S, C]) Fold(events []Event) S {
	s := d.Initial()
	for _, e := range events {
		s = d.Evolve(s, e)
	}
	return s
}
