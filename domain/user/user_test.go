package user_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/user"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func mustFail(t *testing.T, evs []domain.Event, err, want error, fields ...string) {
	t.Helper()
	if len(evs) != 0 {
		t.Errorf("events = %v, want none", evs)
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if want != domain.ErrInvalid {
		return
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %T, want *domain.ValidationError", err)
	}
	var got []string
	for _, f := range ve.Fields {
		got = append(got, f.Field)
	}
	for _, f := range fields {
		if !slices.Contains(got, f) {
			t.Errorf("fields %v do not name %q", got, f)
		}
	}
}

func TestSignUp(t *testing.T) {
	t.Parallel()
	evs, err := user.Decide(user.State{}, user.SignUp{UserID: "u-1", Email: "Ann@Example.COM", Name: "Ann", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Event{user.Registered{UserID: "u-1", Email: "ann@example.com", Name: "Ann", At: t0}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events = %+v, want %+v", evs, want)
	}
	if s := evs[0].Subject(); s != "events.user.u-1" {
		t.Errorf("subject = %q", s)
	}
	if typ := evs[0].EventType(); typ != "user.registered" {
		t.Errorf("type = %q", typ)
	}
	st := user.Decider.Fold(evs)
	if st != (user.State{ID: "u-1", Email: "ann@example.com", Name: "Ann", RegisteredAt: t0}) {
		t.Errorf("state = %+v", st)
	}
}

func TestSignUpRefusesBadInput(t *testing.T) {
	t.Parallel()
	ok := user.SignUp{UserID: "u-1", Email: "ann@example.com", Name: "Ann", At: t0}
	cases := []struct {
		name  string
		edit  func(*user.SignUp)
		field string
	}{
		{"empty id", func(c *user.SignUp) { c.UserID = "" }, "user_id"},
		{"id with a dot", func(c *user.SignUp) { c.UserID = "u.1" }, "user_id"},
		{"id with >", func(c *user.SignUp) { c.UserID = "u>" }, "user_id"},
		{"id with a space", func(c *user.SignUp) { c.UserID = "u 1" }, "user_id"},
		{"id too long", func(c *user.SignUp) { c.UserID = strings.Repeat("u", 65) }, "user_id"},
		{"empty email", func(c *user.SignUp) { c.Email = "" }, "email"},
		{"not an email", func(c *user.SignUp) { c.Email = "ann" }, "email"},
		{"display name", func(c *user.SignUp) { c.Email = "Ann <ann@example.com>" }, "email"},
		{"no dot in the domain", func(c *user.SignUp) { c.Email = "ann@localhost" }, "email"},
		{"surrounding space", func(c *user.SignUp) { c.Email = " ann@example.com" }, "email"},
		{"email too long", func(c *user.SignUp) { c.Email = strings.Repeat("a", 250) + "@x.io" }, "email"},
		{"empty name", func(c *user.SignUp) { c.Name = "" }, "name"},
		{"name too long", func(c *user.SignUp) { c.Name = strings.Repeat("é", 201) }, "name"},
		{"name not UTF-8", func(c *user.SignUp) { c.Name = "a\xffb" }, "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := ok
			c.edit(&cmd)
			evs, err := user.Decide(user.State{}, cmd)
			mustFail(t, evs, err, domain.ErrInvalid, c.field)
		})
	}
	t.Run("every bad field at once", func(t *testing.T) {
		t.Parallel()
		evs, err := user.Decide(user.State{}, user.SignUp{})
		mustFail(t, evs, err, domain.ErrInvalid, "user_id", "email", "name")
	})
}

func TestSignUpTwiceConflicts(t *testing.T) {
	t.Parallel()
	st := user.Decider.Fold([]domain.Event{user.Registered{UserID: "u-1", Email: "a@b.io", Name: "A", At: t0}})
	evs, err := user.Decide(st, user.SignUp{UserID: "u-1", Email: "other@b.io", Name: "B", At: t0})
	mustFail(t, evs, err, domain.ErrConflict)
}

type otherCommand struct{ user.Command }

func TestUnknownCommandIsInvalid(t *testing.T) {
	t.Parallel()
	for _, c := range []user.Command{nil, otherCommand{}} {
		evs, err := user.Decide(user.State{}, c)
		mustFail(t, evs, err, domain.ErrInvalid, "command")
	}
}

type foreign struct{}

func (foreign) EventType() string { return "x.y" }
func (foreign) Subject() string   { return "events.x" }

func TestEvolveIgnoresOtherEvents(t *testing.T) {
	t.Parallel()
	st := user.State{ID: "u-1", Email: "a@b.io"}
	if got := user.Evolve(st, foreign{}); got != st {
		t.Errorf("state changed to %+v", got)
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Ann@Example.COM":    "ann@example.com",
		"  ann@example.com ": "ann@example.com",
		"ann@example.com":    "ann@example.com",
		"":                   "",
	} {
		if got := user.NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// Random and garbage sign-ups: Decide never panics, errors are typed and come without events.
func TestDecideNeverPanics(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	st := user.Decider.Initial()
	for i := range 2000 {
		if r.IntN(50) == 0 {
			st = user.Decider.Initial()
		}
		var cmd user.Command
		if r.IntN(20) != 0 {
			cmd = user.SignUp{
				UserID: pick("u-1", "u-2", "", "u.1", "\x00", strings.Repeat("x", 70)),
				Email:  pick("a@b.io", "A@B.IO", "", "@", "a@", "a@b", "\xff@b.io", "a <a@b.io>"),
				Name:   pick("Ann", "", "\xff", strings.Repeat("n", 300)),
				At:     t0.Add(time.Duration(r.Int64N(1e12))),
			}
		}
		var evs []domain.Event
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("step %d: Decide(%+v, %#v) panicked: %v", i, st, cmd, p)
				}
			}()
			evs, err = user.Decide(st, cmd)
		}()
		if err != nil {
			if len(evs) != 0 {
				t.Fatalf("step %d: error %v with events", i, err)
			}
			if !errors.Is(err, domain.ErrInvalid) && !errors.Is(err, domain.ErrConflict) {
				t.Fatalf("step %d: untyped error %v", i, err)
			}
			continue
		}
		for _, e := range evs {
			st = user.Evolve(st, e)
		}
		if st.ID == "" || st.Email != user.NormalizeEmail(st.Email) {
			t.Fatalf("step %d: state %+v", i, st)
		}
	}
}
