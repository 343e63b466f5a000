package reactor

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/assay-dev/assay/domain"
	"github.com/assay-dev/assay/domain/casegen"
	"github.com/assay-dev/assay/domain/iface"
	"github.com/assay-dev/assay/domain/testcase"
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

// CaseGenerator is the LLM path of generation (implemented by package ai). It falls back
// to the rules itself (no key, timeout, error, garbage) and says so in the info; its error
// is only ctx's, when nothing is to be recorded. opt carries the seed, the cap and the
// case ids, which stay derived from the generation id.
type CaseGenerator interface {
	Generate(ctx context.Context, def iface.Definition, opt casegen.Options, hints string) ([]testcase.Case, iface.GenerationInfo, error)
}

// GeneratorConfig tunes a Generator.
type GeneratorConfig struct {
	Now func() time.Time // clock for the recorded events (default: the command handler's)
	// LLM generates for the auto and llm generators; nil: the rules, with NoLLMReason.
	LLM CaseGenerator
}

// Generator answers interface.cases_generation_requested: it loads the interface,
// generates its cases — with the LLM when one is configured and the request does not ask
// for the rules, else with the rule-based generator (seeded by the generation id) — and
// records them, case ids derived from the generation id so that every replica and every
// redelivery produces the same ids. A request identical to an earlier LLM generation
// (same interface version, same options) is answered with that generation's cases, when
// they are all still there, instead of a new LLM call. A generation already recorded (a
// redelivery, another replica) is acked; one whose interface is gone is failed.
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
	cases, info, err := g.generate(ctx, s, e, maxCases)
	if err != nil {
		return fmt.Errorf("generation %s: %w", e.GenerationID, err) // stopping: retried by the next owner
	}
	if g.cfg.LLM != nil && e.Options.Generator != "rules" {
		// The LLM takes seconds: a later request for the same interface, handled meanwhile
		// by another replica, may have finished first, and its cases must stay the current ones.
		later, err := g.supersededBy(ctx, e)
		if err != nil {
			return err
		}
		if later != "" {
			return g.fail(ctx, meta, e, "superseded by generation "+later+", requested later and finished first")
		}
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

// generate produces the cases of a generation: the rules when asked for or without an
// LLM, an earlier identical LLM generation's cases, or the LLM's.
func (g *Generator) generate(ctx context.Context, s iface.State, e iface.CasesGenerationRequested, maxCases int) ([]testcase.Case, iface.GenerationInfo, error) {
	start := time.Now()
	opt := casegen.Options{Seed: GenerationSeed(e.GenerationID), MaxCases: maxCases,
		IDs: func(i int) string { return GeneratedCaseID(e.GenerationID, i) }}
	if e.Options.Generator == "rules" || g.cfg.LLM == nil {
		info := iface.GenerationInfo{Generator: "rules"}
		if e.Options.Generator != "rules" {
			info.FallbackReason = NoLLMReason
		}
		cases := casegen.Generate(s.Def, opt)
		info.DurationMS = time.Since(start).Milliseconds()
		return cases, info, nil
	}
	if prev, cases := reusable(s, e); prev != nil {
		for i := range cases {
			cases[i].ID, cases[i].GenerationID, cases[i].Enabled = GeneratedCaseID(e.GenerationID, i), "", true
		}
		// The event has no field for it (yet): the model's name says which generation's
		// answer this is (the first one's, when that one was a reuse too).
		model, _, _ := strings.Cut(prev.Info.Model, reusedNote)
		from := prev.ID
		if _, f, ok := strings.Cut(prev.Info.Model, reusedNote); ok {
			from = strings.TrimSuffix(f, ")")
		}
		info := iface.GenerationInfo{Generator: "llm", Model: model + reusedNote + from + ")",
			PromptVersion: prev.Info.PromptVersion, DurationMS: time.Since(start).Milliseconds()}
		return cases, info, nil
	}
	return g.cfg.LLM.Generate(ctx, s.Def, opt, e.Options.Hints)
}

// supersededBy is a generation of the interface requested after e that is done already.
func (g *Generator) supersededBy(ctx context.Context, e iface.CasesGenerationRequested) (string, error) {
	s, _, err := g.cmd.LoadInterface(ctx, e.InterfaceID)
	if err != nil {
		return "", err
	}
	for _, other := range s.Generations {
		if other.ID != e.GenerationID && other.Status == iface.Done && other.RequestedAt.After(e.At) {
			return other.ID, nil
		}
	}
	return "", nil
}

// reusedNote follows the model's name in a reused generation's info.
const reusedNote = " (reused generation "

// reusable finds the latest earlier generation of the same interface version and options
// that the LLM answered without a fallback, and whose cases are all still there unedited;
// it returns them in their order.
func reusable(s iface.State, e iface.CasesGenerationRequested) (*iface.Generation, []testcase.Case) {
	var best *iface.Generation
	for _, g := range s.Generations {
		if g.ID == e.GenerationID || g.Status != iface.Done || g.Info.Generator != "llm" || g.Info.FallbackReason != "" ||
			g.InterfaceVersion != e.InterfaceVersion || g.Options != e.Options || len(g.CaseIDs) == 0 {
			continue
		}
		if best == nil || g.FinishedAt.After(best.FinishedAt) || (g.FinishedAt.Equal(best.FinishedAt) && g.ID > best.ID) {
			best = g
		}
	}
	if best == nil {
		return nil, nil
	}
	cases := make([]testcase.Case, 0, len(best.CaseIDs))
	for _, id := range best.CaseIDs {
		c, ok := s.Cases[id]
		if !ok || c.GenerationID != best.ID {
			return nil, nil // replaced, deleted or edited since: ask again
		}
		cases = append(cases, c)
	}
	return best, cases
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
