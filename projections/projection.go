// Package projections keeps read models in step with the log: each projection is fed by a
// durable JetStream consumer, applies events in batches inside one transaction that also
// stores its checkpoint, halts on a poison event instead of skipping it, and can be rebuilt
// from the log (in full or "as of" a sequence) while readers keep reading.
package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/assay-dev/assay/domain"
)

// Checkpoint is where a projection stands: the last stream sequence it applied, and the
// epoch of its tables (a rebuild that swaps fresh tables in starts a new epoch, so a live
// projector writing the old ones notices and resumes from the new checkpoint).
type Checkpoint struct {
	Seq   uint64
	Epoch int64
}

// Projection is a read model. Every projection consumes the whole stream (events.>), so
// its checkpoint is a stream position and "has it seen sequence N" is a comparison.
type Projection interface {
	// Name is stable: it names the durable consumer and the checkpoint row.
	Name() string
	// Checkpoint reads the stored checkpoint (zero when the projection never ran).
	Checkpoint(ctx context.Context) (Checkpoint, error)
	// Apply applies events in order (each above the checkpoint) and stores the checkpoint
	// `through` (≥ the last event's seq) in the same transaction. If the stored epoch is not
	// epoch it changes nothing and returns ErrEpochChanged. An event it cannot apply because
	// of what it holds returns a *PoisonError; any other error is treated as transient.
	Apply(ctx context.Context, epoch int64, events []domain.Envelope, through uint64) error
}

// Rebuildable projections can build a fresh copy beside the live one and swap it in.
type Rebuildable interface {
	Projection
	// Shadow is an empty copy of the projection writing to fresh tables or keys.
	Shadow(ctx context.Context) (Projection, error)
	// Promote swaps the shadow in atomically: readers see either the old or the new read
	// model, never a half-built one. The live checkpoint becomes the shadow's, in a new epoch.
	Promote(ctx context.Context, shadow Projection) error
	// Discard drops a shadow that will not be promoted.
	Discard(ctx context.Context, shadow Projection) error
}

// Failures records poison events: a primary store beside the checkpoints.
type Failures interface {
	RecordFailure(ctx context.Context, f Failure) error
	// OpenFailure is the unresolved failure of a projection, if any.
	OpenFailure(ctx context.Context, projection string) (*Failure, error)
	// Skip marks the failure at seq resolved and moves the checkpoint past it, deliberately.
	Skip(ctx context.Context, projection string, seq uint64) error
}

// Failure is a poison event a projection halted at.
type Failure struct {
	Projection string
	Seq        uint64
	EventType  string
	Reason     string
}

// Errors of the engine and the projections.
var (
	ErrPoison       = errors.New("poison event")
	ErrEpochChanged = errors.New("the projection's tables were swapped by a rebuild")
	ErrHalted       = errors.New("projection halted at a poison event")
)

// PoisonError names the event a projection cannot apply.
type PoisonError struct {
	Seq    uint64
	Type   string
	Reason error
}

func (e *PoisonError) Error() string {
	return fmt.Sprintf("event %d (%s) cannot be applied: %v", e.Seq, e.Type, e.Reason)
}

func (e *PoisonError) Unwrap() []error { return []error{ErrPoison, e.Reason} }

// Poison wraps why an event cannot be applied.
func Poison(env domain.Envelope, reason error) error {
	return &PoisonError{Seq: env.Seq, Type: env.Type, Reason: reason}
}
