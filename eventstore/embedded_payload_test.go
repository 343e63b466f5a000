package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/app"
	"github.com/assay-dev/assay/domain/assert"
	"github.com/assay-dev/assay/domain/batch"
	"github.com/assay-dev/assay/domain/catalog"
	"github.com/assay-dev/assay/domain/testcase"
	"github.com/assay-dev/assay/eventstore"
)

// A batch.submitted embeds every frozen case: the embedded server takes messages up to
// eventstore.MaxPayload (8 MiB), so a 5,000-case batch of realistic cases (a JSON body,
// headers, three assertions: about 1 KB each) appends and loads whole.
func TestEmbeddedTakesLargeBatches(t *testing.T) {
	t.Parallel()
	off := false
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir(), SyncAlways: &off})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if got := nc.MaxPayload(); got != eventstore.MaxPayload || eventstore.MaxPayload != 8<<20 {
		t.Fatalf("max payload %d, want %d (8 MiB)", got, eventstore.MaxPayload)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := eventstore.Open(ctx, nc, catalog.New(), eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}

	const n = 5000
	sub := batch.Submitted{AppID: "app-1", BatchID: "b-big", OwnerID: "user-1",
		Environment: app.Environment{Name: "test", BaseURL: "http://127.0.0.1:1"},
		Interfaces:  []batch.InterfaceRef{{ID: "if-1", Name: "create pet", Method: "POST", Path: "/pets/{id}", Version: 1}},
		Settings:    batch.Settings{Concurrency: 10, TimeoutMS: 5000}, At: time.Now().UTC()}
	for i := range n {
		sub.Cases = append(sub.Cases, realisticCase(i))
	}
	data, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 2<<20 {
		t.Fatalf("the event is only %d bytes: not a test of a large message", len(data))
	}
	env := domain.Envelope{ID: uuid.NewString(), Data: sub, Meta: domain.Metadata{UserID: "user-1"}}
	if _, err := store.Append(ctx, eventstore.Expect{sub.Subject(): 0}, env); err != nil {
		t.Fatalf("append a %d-byte batch.submitted: %v", len(data), err)
	}
	envs, _, err := store.Load(ctx, sub.Subject())
	if err != nil || len(envs) != 1 {
		t.Fatalf("load: %v (%d events)", err, len(envs))
	}
	if got := len(envs[0].Data.(batch.Submitted).Cases); got != n {
		t.Fatalf("%d cases loaded, want %d", got, n)
	}
	perCase := float64(len(data)) / n
	t.Logf("%d cases: %d bytes (%.0f per case); the largest batch of such cases that fits: about %d",
		n, len(data), perCase, int(float64(eventstore.MaxPayload-1024)/perCase))
}

func realisticCase(i int) testcase.Case {
	body := fmt.Sprintf(`{"id":%d,"name":"pet-%05d","tag":"dog","owner":{"name":"Ada Lovelace","email":"ada%d@example.com"},"vaccinated":true,"weight_kg":12.5,"notes":"boundary case for the name length and the owner's email"}`, i, i, i)
	return testcase.Case{ID: fmt.Sprintf("case-%05d", i), InterfaceID: "if-1", Name: fmt.Sprintf("create pet %d with a valid body", i),
		Class: testcase.Valid, Priority: "P2", Enabled: true, Source: "generated",
		Request: testcase.Request{Method: "POST", Path: "/pets/{id}", PathParams: map[string]any{"id": i},
			Query:   map[string]any{"dry_run": false},
			Headers: map[string]string{"Content-Type": "application/json", "X-Request-Source": "assay"},
			Body:    json.RawMessage(body)},
		Assertions: []assert.Assertion{
			{Target: "status", Op: "eq", Value: 201.0},
			{Target: "body.id", Op: "eq", Value: float64(i)},
			{Target: "latency_ms", Op: "lt", Value: 500.0},
		}}
}
