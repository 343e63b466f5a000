package eventstore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/assay-dev/assay/domain"
)

// Header names: the CloudEvents NATS protocol binding (binary mode, "ce-" prefix) so
// external subscribers can read the log with any CloudEvents SDK. nats.Header is
// case-sensitive, so these exact spellings are what Get must be called with.
const (
	HeaderSpecVersion     = "ce-specversion"
	HeaderID              = "ce-id"
	HeaderType            = "ce-type"
	HeaderSource          = "ce-source"
	HeaderSubject         = "ce-subject"
	HeaderTime            = "ce-time"
	HeaderDataContentType = "ce-datacontenttype"
	HeaderSchemaVersion   = "ce-schemaversion"
	HeaderCommandID       = "ce-commandid"
	HeaderRequestID       = "ce-requestid"
	HeaderUserID          = "ce-userid"
	HeaderCorrelationID   = "ce-correlationid"
	HeaderCausationID     = "ce-causationid"

	specVersion     = "1.0"
	dataContentType = "application/json"
)

// headers builds a message's headers; the envelope must be complete (ID, Type,
// Version, Subject, Time). Nats-Msg-Id is the event id so JetStream drops a retried
// publish inside the duplicate window.
func (s *Store) headers(env domain.Envelope) nats.Header {
	h := make(nats.Header, 16)
	h[jetstream.MsgIDHeader] = []string{env.ID}
	h[HeaderSpecVersion] = []string{specVersion}
	h[HeaderID] = []string{env.ID}
	h[HeaderType] = []string{env.Type}
	h[HeaderSource] = []string{s.cfg.Source}
	h[HeaderSubject] = []string{env.Subject}
	h[HeaderTime] = []string{env.Time.UTC().Format(time.RFC3339Nano)}
	h[HeaderDataContentType] = []string{dataContentType}
	h[HeaderSchemaVersion] = []string{strconv.Itoa(env.Version)}
	setIf(h, HeaderCommandID, env.Meta.CommandID)
	setIf(h, HeaderRequestID, env.Meta.RequestID)
	setIf(h, HeaderUserID, env.Meta.UserID)
	setIf(h, HeaderCorrelationID, env.Meta.CorrelationID)
	setIf(h, HeaderCausationID, env.Meta.CausationID)
	return h
}

func setIf(h nats.Header, key, value string) {
	if value != "" {
		h[key] = []string{value}
	}
}

// Decode turns a stored message into an envelope. On error the envelope is still
// filled as far as the headers allow (Seq, Subject, ID, Type, …) so a consumer can
// record the message as poison; the error names the sequence and wraps the cause
// (domain.ErrUnknownEvent for a type or version this build does not know).
func (s *Store) Decode(subject string, h nats.Header, data []byte, seq uint64) (domain.Envelope, error) {
	env, err := s.decode(subject, h, data, seq)
	if err != nil {
		return env, fmt.Errorf("eventstore: %w", err)
	}
	return env, nil
}

func (s *Store) decode(subject string, h nats.Header, data []byte, seq uint64) (domain.Envelope, error) {
	env, err := envelopeOf(subject, h, seq)
	if err != nil {
		return env, fmt.Errorf("decode seq %d on %s: %w", seq, subject, err)
	}
	ev, err := s.catalog.Decode(env.Type, env.Version, data)
	if err != nil {
		return env, fmt.Errorf("decode seq %d on %s: %w", seq, subject, err)
	}
	// Version describes Data, which is now at the catalog's version; an old message
	// has been upcast on the way.
	env.Data, env.Version = ev, s.catalog.Version(env.Type)
	return env, nil
}

// envelopeOf reads everything but the data from the headers.
func envelopeOf(subject string, h nats.Header, seq uint64) (domain.Envelope, error) {
	env := domain.Envelope{
		ID:      h.Get(HeaderID),
		Type:    h.Get(HeaderType),
		Subject: subject,
		Seq:     seq,
		Meta: domain.Metadata{
			CommandID:     h.Get(HeaderCommandID),
			RequestID:     h.Get(HeaderRequestID),
			UserID:        h.Get(HeaderUserID),
			CorrelationID: h.Get(HeaderCorrelationID),
			CausationID:   h.Get(HeaderCausationID),
		},
	}
	if env.Type == "" {
		return env, fmt.Errorf("missing %s header: %w", HeaderType, domain.ErrUnknownEvent)
	}
	env.Version = 1 // a message without a schema version predates versioning
	if v := h.Get(HeaderSchemaVersion); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return env, fmt.Errorf("%s %q: %w", HeaderSchemaVersion, v, domain.ErrUnknownEvent)
		}
		env.Version = n
	}
	if t := h.Get(HeaderTime); t != "" {
		tm, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return env, fmt.Errorf("%s %q: %w", HeaderTime, t, err)
		}
		env.Time = tm.UTC()
	}
	return env, nil
}
