package tables

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/assay-dev/assay/domain"
)

// when is an event's time: its own `at`, else the envelope's, in UTC at the microsecond
// precision DATETIME(6) keeps (so a row reads back exactly as it was written).
func when(env domain.Envelope, at time.Time) time.Time {
	if at.IsZero() {
		at = env.Time
	}
	if at.IsZero() {
		return time.Time{}
	}
	return at.UTC().Truncate(time.Microsecond)
}

// mark is a time that must not be NULL because it marks a state (archived, deleted,
// completed): an event without any time marks it at the Unix epoch.
func mark(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t
}

// encoder writes compact JSON, HTML characters left alone, reusing one buffer.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newEncoder() *encoder {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// encode is v as JSON; "null" becomes empty when empty is given ("[]" or "{}"), so list
// and object columns always hold their kind.
func (e *encoder) encode(v any, empty string) (string, error) {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	b := bytes.TrimRight(e.buf.Bytes(), "\n")
	if string(b) == "null" && empty != "" {
		return empty, nil
	}
	return string(b), nil
}

func encode(v any, empty string) (string, error) { return newEncoder().encode(v, empty) }

// raw is a JSON document from an event, compacted ("null" when absent). A document that is
// not JSON cannot be stored in a JSON column.
func raw(doc json.RawMessage) (string, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		return "null", nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return "", fmt.Errorf("not a JSON document: %w", err)
	}
	return b.String(), nil
}

// jsonFields encodes several values, stopping at the first error.
type jsonFields struct {
	err error
	e   *encoder // nil: a fresh one
}

func (j *jsonFields) enc(dst *string, v any, empty string) {
	if j.err != nil {
		return
	}
	if j.e == nil {
		j.e = newEncoder()
	}
	*dst, j.err = j.e.encode(v, empty)
}

func (j *jsonFields) raw(dst *string, doc json.RawMessage) {
	if j.err != nil {
		return
	}
	*dst, j.err = raw(doc)
}
