package eventstore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/eventstore/estest"
)

// noted is a test-only event: Key chooses its subject, N tells events apart.
type noted struct {
	Key  string            `json:"key"`
	N    int               `json:"n"`
	Tags map[string]string `json:"tags,omitempty"`
}

func (noted) EventType() string { return "test.noted" }
func (e noted) Subject() string { return "events.test." + e.Key }

// renamed is at version 2: version 1 called its field "title".
type renamed struct {
	Name string `json:"name"`
}

func (renamed) EventType() string { return "test.renamed" }
func (renamed) Subject() string   { return "events.test.renamed" }

func testCatalog() *domain.Catalog {
	c := domain.NewCatalog()
	domain.Register[noted](c, 1)
	domain.Register[renamed](c, 2)
	c.RegisterUpcaster("test.renamed", 1, func(data json.RawMessage) (json.RawMessage, error) {
		var v1 struct {
			Title string `json:"title"`
		}
		if err := json.Unmarshal(data, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(renamed{Name: v1.Title})
	})
	return c
}

func start(t testing.TB) *eventstore.Store {
	t.Helper()
	return estest.Start(t, testCatalog())
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// env is an envelope of a noted event on subject events.test.<key>.
func env(key string, n int) domain.Envelope {
	e := noted{Key: key, N: n}
	return domain.Envelope{ID: newID(), Subject: e.Subject(), Time: time.Now(), Data: e}
}

// newID is unique across the parallel tests of one run.
func newID() string { return nuid.Next() }

func mustAppend(t testing.TB, s *eventstore.Store, expect eventstore.Expect, envs ...domain.Envelope) []domain.Envelope {
	t.Helper()
	out, err := s.Append(testCtx(t), expect, envs...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return out
}

func seqs(envs []domain.Envelope) []uint64 {
	out := make([]uint64, len(envs))
	for i, e := range envs {
		out[i] = e.Seq
	}
	return out
}

// publishRaw stores a message the catalog may not know, as another producer could.
func publishRaw(t testing.TB, s *eventstore.Store, subject, typ, version string, data string) uint64 {
	t.Helper()
	h := nats.Header{}
	h.Set(eventstore.HeaderType, typ)
	h.Set(eventstore.HeaderID, newID())
	if version != "" {
		h.Set(eventstore.HeaderSchemaVersion, version)
	}
	ack, err := s.JetStream().PublishMsg(testCtx(t), &nats.Msg{Subject: subject, Header: h, Data: []byte(data)})
	if err != nil {
		t.Fatalf("raw publish: %v", err)
	}
	return ack.Sequence
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
