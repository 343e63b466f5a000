package domain

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors: handlers map them to HTTP in one place (errors.Is).
var (
	// ErrInvalid: the command's values break an invariant. Wrapped by *ValidationError.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: the aggregate does not exist (or is not the caller's).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the aggregate changed under the command, or the command clashes with its state.
	ErrConflict = errors.New("conflict")
	// ErrUnknownEvent: a stored event whose type or version this build does not know.
	ErrUnknownEvent = errors.New("unknown event")
)

// FieldError names one bad field of a command.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every bad field of a command; errors.Is(err, ErrInvalid) holds.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid: " + strings.Join(parts, "; ")
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Problems collects field errors while a command is checked.
type Problems struct{ fields []FieldError }

// Add records a bad field.
func (p *Problems) Add(field, format string, args ...any) {
	p.fields = append(p.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Check records a bad field when ok is false.
func (p *Problems) Check(ok bool, field, format string, args ...any) {
	if !ok {
		p.Add(field, format, args...)
	}
}

// Merge adds every field error of err (a *ValidationError) under prefix.
func (p *Problems) Merge(prefix string, err error) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			p.Add(joinField(prefix, f.Field), "%s", f.Message)
		}
	} else if err != nil {
		p.Add(prefix, "%s", err.Error())
	}
}

// Err is nil when nothing was added, else a *ValidationError sorted by field.
func (p *Problems) Err() error {
	if len(p.fields) == 0 {
		return nil
	}
	fs := append([]FieldError(nil), p.fields...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Field < fs[j].Field })
	return &ValidationError{Fields: fs}
}

// Invalid is a one-field validation error.
func Invalid(field, format string, args ...any) error {
	var p Problems
	p.Add(field, format, args...)
	return p.Err()
}

// NotFound wraps ErrNotFound with what was missing.
func NotFound(what, id string) error { return fmt.Errorf("%s %q: %w", what, id, ErrNotFound) }

// Conflict wraps ErrConflict with the reason.
func Conflict(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrConflict)
}

func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case strings.HasPrefix(field, "["):
		return prefix + field
	default:
		return prefix + "." + field
	}
}
