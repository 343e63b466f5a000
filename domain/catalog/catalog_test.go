package catalog_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/catalog"
)

// fill sets every field of v to a non-zero value, so a round trip that drops a field fails.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("s-" + v.Type().Name())
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Uint64, reflect.Uint:
		v.SetUint(9)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Interface:
		v.Set(reflect.ValueOf("any-value"))
	case reflect.Slice:
		if v.Type() == reflect.TypeOf(json.RawMessage(nil)) {
			v.SetBytes([]byte(`{"type":"object"}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 26, 1, 2, 3, 456789000, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	}
}

func TestEveryEventRoundTripsThroughJSON(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	if len(c.Types()) < 20 {
		t.Fatalf("catalog has %d types; want every event of DESIGN.md", len(c.Types()))
	}
	for _, name := range c.Types() {
		zero, _ := c.New(name)
		p := reflect.New(reflect.TypeOf(zero))
		fill(p.Elem(), 0)
		ev := p.Elem().Interface().(domain.Event)
		if ev.EventType() != name {
			t.Fatalf("%T says it is %q, registered as %q", ev, ev.EventType(), name)
		}
		if !strings.HasPrefix(ev.Subject(), "events.") {
			t.Errorf("%s: subject %q is outside events.>", name, ev.Subject())
		}
		data, ver, err := c.Encode(ev)
		if err != nil || ver != c.Version(name) {
			t.Fatalf("%s: encode: %v (version %d)", name, err, ver)
		}
		back, err := c.Decode(name, ver, data)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if !reflect.DeepEqual(ev, back) {
			t.Errorf("%s: round trip changed the event:\n in  %#v\n out %#v", name, ev, back)
		}
	}
}

func TestEventTypesAreDottedPastTense(t *testing.T) {
	t.Parallel()
	for _, name := range catalog.New().Types() {
		agg, verb, ok := strings.Cut(name, ".")
		if !ok || agg == "" || verb == "" || strings.ToLower(name) != name {
			t.Errorf("%q: want <aggregate>.<past_tense>", name)
		}
	}
}

func TestDecodeUnknownTypeOrVersionIsAnError(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	if _, err := c.Decode("app.exploded", 1, []byte(`{}`)); !errors.Is(err, domain.ErrUnknownEvent) {
		t.Errorf("unknown type: got %v, want ErrUnknownEvent", err)
	}
	if _, err := c.Decode("app.created", 99, []byte(`{}`)); !errors.Is(err, domain.ErrUnknownEvent) {
		t.Errorf("future version: got %v, want ErrUnknownEvent", err)
	}
	if _, err := c.Decode("app.created", 1, []byte(`{"app_id":`)); err == nil {
		t.Error("corrupt JSON decoded without an error")
	}
}
