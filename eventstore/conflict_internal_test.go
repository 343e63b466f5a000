package eventstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/assay-dev/assay/domain"
)

// Append never puts an expectation on a second message of a subject, so the server's
// 10164 (expectation on a subject written earlier in the same batch) is produced here
// with a raw batch, and its error must map to a conflict like 10071.
func TestConflictConstantSequence(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	off := false
	srv, err := StartEmbedded(EmbeddedConfig{Dir: t.TempDir(), SyncAlways: &off})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := Open(ctx, nc, domain.NewCatalog(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	msg := func(expect string) *nats.Msg {
		m := nats.NewMsg("events.x")
		if expect != "" {
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, expect)
		}
		return m
	}
	_, err = jetstreamext.PublishMsgBatch(ctx, s.js, []*nats.Msg{msg("0"), msg("1")})
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequenceConstant {
		t.Fatalf("raw batch: err = %v, want API error 10164", err)
	}
	if mapped := appendErr("batch", err); !errors.Is(mapped, domain.ErrConflict) || !errors.As(mapped, &apiErr) {
		t.Fatalf("mapped = %v, want a conflict keeping the API error", mapped)
	}
	if last, _ := s.LastSeq(ctx); last != 0 {
		t.Fatalf("rejected batch stored %d messages", last)
	}
}
