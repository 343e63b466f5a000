package reactor

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/eventstore"
	"github.com/assay-dev/assay/handlers/command"
)

// GenerateName is the generation reactor's durable consumer.
const GenerateName = "reactor-generate"

// InterfaceFilters select every interface's events.
var InterfaceFilters = []string{"events.app.*.interface.*"}

// NoLLMReason is the fallback reason when auto or llm generation was asked without an LLM.
const NoLLMReason = "no LLM configured"

// caseNamespace derives generated case ids: UUIDv5 of "<generation id>/<index>".
var caseNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://assay.dev/casegen"))

// GeneratorConfig tunes a Generator.
type GeneratorConfig struct {
	Now func() time.Time // clock for the recorded events (default: the command handler's)
}

// Generator answers interface.cases_generation_requested with the rule-based generator:
// it loads the interface, generates its cases (seeded by the generation id, ids derived
// from it, so every replica and every redelivery produces the same cases) and records
// them. A generation already recorded (a redelivery, another replica) is acked; one whose
// interface is gone is failed.
type Generator struct {
	cmd   *command.Handler
	store *eventstore.Store
	cfg   GeneratorConfig
}

// NewGenerator builds a Generator; run it with its Reactor.
func NewGenerator(cmd *command.Handler, cfg GeneratorConfig) *Generator {
	if cfg.Now == nil {
		cfg.Now = cmd.Now
	}
	return &Generator{cmd: cmd, store: cmd.Store(), cfg: cfg}
}

// Reactor is the durable consumer running g; empty Name and Filters of cfg default to
// GenerateName and InterfaceFilters.
func (g *Generator) Reactor(cfg Config, log logrus.FieldLogger, reg prometheus.Registerer) (*Reactor, error) {
	if cfg.Name == "" {
		cfg.Name = GenerateName
	}
	if len(cfg.Filters) == 0 {
		cfg.Filters = InterfaceFilters
	}
	return New(g.store, cfg, g.Handle, log, reg)
}

// GenerationSeed is the generator seed of a generation.
func GenerationSeed(generationID string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(generationID))
	return h.Sum64()
}

// GeneratedCaseID is the id of a generation's i-th case.
func GeneratedCaseID(generationID string, i int) string {
	return uuid.NewSHA1(caseNamespace, []byte(generationID+"/"+strconv.Itoa(i))).String()
}

// Handle reacts to one interface event.
func (g *Generator) Handle(ctx context.Context, env domain.Envelope) error {
	e, ok := env.Data.(iface.CasesGenerationRequested)
	if !ok {
		return nil
	}
	s, _, err := g.cmd.LoadInterface(ctx, e.InterfaceID)
	if err != nil {
		return err
	}
	if gen := s.Generations[e.GenerationID]; gen != nil && gen.Status != iface.Pending {
		return nil // already recorded or failed
	}
	meta := domain.Metadata{CommandID: "generate-" + e.GenerationID, UserID: domain.System,
		CorrelationID: env.Meta.CorrelationID, CausationID: env.ID, RequestID: env.Meta.RequestID}
	if !s.Exists() {
		if s.ID == "" {
			return Permanent(fmt.Errorf("generation %s: interface %s does not exist", e.GenerationID, e.InterfaceID))
		}
		return g.fail(ctx, meta, e, "the interface was deleted")
	}
	maxCases := e.Options.MaxCases
	if maxCases <= 0 || maxCases > iface.MaxGeneratedCase {
		maxCases = iface.MaxGeneratedCase
	}
	start := time.Now()
	cases := casegen.Generate(s.Def, casegen.Options{Seed: GenerationSeed(e.GenerationID), MaxCases: maxCases,
		IDs: func(i int) string { return GeneratedCaseID(e.GenerationID, i) }})
	info := iface.GenerationInfo{Generator: "rules", DurationMS: time.Since(start).Milliseconds()}
	if e.Options.Generator != "rules" {
		info.FallbackReason = NoLLMReason
	}
	_, err = g.cmd.Interface(ctx, meta, e.InterfaceID, iface.RecordGeneration{InterfaceID: e.InterfaceID,
		ActorID: domain.System, GenerationID: e.GenerationID, Info: info, Cases: cases, At: g.cfg.Now()})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, domain.ErrConflict):
		// Recorded meanwhile (another replica), or the interface cannot take the cases:
		// only the second leaves the generation pending, and is failed with the reason.
		s, _, lerr := g.cmd.LoadInterface(ctx, e.InterfaceID)
		if lerr != nil {
			return lerr
		}
		if gen := s.Generations[e.GenerationID]; gen == nil || gen.Status != iface.Pending {
			return nil
		}
		return g.fail(ctx, meta, e, err.Error())
	case errors.Is(err, domain.ErrInvalid):
		return g.fail(ctx, meta, e, err.Error())
	case errors.Is(err, domain.ErrNotFound):
		// Deleted between the load and the record.
		return g.fail(ctx, meta, e, "the interface was deleted")
	}
	return fmt.Errorf("record generation %s: %w", e.GenerationID, err)
}

// fail ends the generation without cases (the domain takes this one command on a deleted
// interface, so the generation does not stay pending).
func (g *Generator) fail(ctx context.Context, meta domain.Metadata, e iface.CasesGenerationRequested, reason string) error {
	meta.CommandID = "generate-fail-" + e.GenerationID
	_, err := g.cmd.Interface(ctx, meta, e.InterfaceID, iface.FailGeneration{InterfaceID: e.InterfaceID,
		ActorID: domain.System, GenerationID: e.GenerationID, Reason: reason, At: g.cfg.Now()})
	switch {
	case err == nil, errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrNotFound):
		return nil
	case errors.Is(err, domain.ErrInvalid):
		return Permanent(fmt.Errorf("fail generation %s: %w", e.GenerationID, err))
	}
	return fmt.Errorf("fail generation %s: %w", e.GenerationID, err)
}
