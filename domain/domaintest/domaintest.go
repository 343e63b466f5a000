// Package domaintest holds the assertions the domain packages' tests share.
package domaintest

import (
	"errors"
	"slices"
	"testing"

	"github.com/assay-dev/assay/domain"
)

// FieldsOf lists the fields a *domain.ValidationError names (nil for other errors).
func FieldsOf(err error) []string {
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

// MustFail asserts a typed error, no events, and for ErrInvalid the fields it names.
func MustFail(t testing.TB, evs []domain.Event, err, want error, fields ...string) {
	t.Helper()
	if len(evs) != 0 {
		t.Errorf("events = %+v, want none", evs)
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	for _, s := range []error{domain.ErrInvalid, domain.ErrNotFound, domain.ErrConflict} {
		if s != want && errors.Is(err, s) {
			t.Errorf("err = %v is also %v", err, s)
		}
	}
	if want != domain.ErrInvalid {
		return
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %T, want *domain.ValidationError", err)
	}
	if len(fields) == 0 {
		t.Fatal("test names no expected field")
	}
	got := FieldsOf(err)
	for _, f := range fields {
		if !slices.Contains(got, f) {
			t.Errorf("fields %v do not name %q", got, f)
		}
	}
}
