package views

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assay-dev/assay/domain/batch"
)

// Reader reads the live generation of the views. It is safe for concurrent use.
type Reader struct {
	rdb  redis.UniversalClient
	cfg  Config
	keys keys
	gen  atomic.Int64 // the live generation as last seen
}

// NewReader reads the views New(rdb, cfg) writes.
func NewReader(rdb redis.UniversalClient, cfg Config) *Reader {
	cfg.setDefaults()
	return &Reader{rdb: rdb, cfg: cfg, keys: newKeys(cfg.KeyPrefix)}
}

// BatchProgress is a batch as the views know it. CompletedAt, DurationMS and Latency stay
// zero until the batch completes.
type BatchProgress struct {
	ID          string        `json:"id"`
	AppID       string        `json:"app_id"`
	Environment string        `json:"environment"`
	Status      string        `json:"status"`
	Total       int           `json:"total"`
	Done        int           `json:"done"`
	Passed      int           `json:"passed"`
	Failed      int           `json:"failed"`
	Errored     int           `json:"errored"`
	Canceled    int           `json:"canceled"`
	StartedAt   time.Time     `json:"started_at"`
	CompletedAt time.Time     `json:"completed_at"`
	DurationMS  int64         `json:"duration_ms"`
	Latency     batch.Latency `json:"latency_ms"`
}

// Health is an interface's pass rate over its last results (Count of them, at most the window).
type Health struct {
	Count    int     `json:"count"`
	Passed   int     `json:"passed"`
	PassRate float64 `json:"pass_rate"` // 0 when Count is 0
}

// Slow is an interface and its slowest duration among its last results that got a response.
type Slow struct {
	InterfaceID string  `json:"interface_id"`
	DurationMS  float64 `json:"duration_ms"`
}

// view runs read commands on the generation last seen as live, pipelined with a read of
// the live generation: if it is unchanged the reads saw a live generation (generations only
// move forward, and an old one is deleted only after the switch); if not, it reads again.
func (r *Reader) view(ctx context.Context, queue func(p redis.Pipeliner, n ns)) error {
	for range maxAttempts {
		gen := r.gen.Load()
		var live *redis.StringCmd
		cmds, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			queue(p, r.keys.ns(gen))
			live = p.HGet(ctx, r.keys.live(), "gen")
			return nil
		})
		if err = readErr(cmds, err); err != nil {
			return fmt.Errorf("views: read: %w", err)
		}
		now, err := live.Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("views: read the live generation: %w", err)
		}
		if now == gen {
			return nil
		}
		r.gen.Store(now)
	}
	return errors.New("views: read: the live generation kept changing")
}

// readErr ignores redis.Nil (a missing key or field is an answer, not a failure).
func readErr(cmds []redis.Cmder, err error) error {
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	for _, c := range cmds {
		if cerr := c.Err(); cerr != nil && !errors.Is(cerr, redis.Nil) {
			return cerr
		}
	}
	return err
}

// BatchProgress reads a batch's progress; found is false when the views do not know it.
func (r *Reader) BatchProgress(ctx context.Context, batchID string) (p BatchProgress, found bool, err error) {
	var cmd *redis.MapStringStringCmd
	if err := r.view(ctx, func(pl redis.Pipeliner, n ns) { cmd = pl.HGetAll(ctx, n.batch(batchID)) }); err != nil {
		return p, false, err
	}
	h := cmd.Val()
	if len(h) == 0 {
		return p, false, nil
	}
	f := fields{h: h}
	p = BatchProgress{ID: batchID, AppID: h["app_id"], Environment: h["environment"], Status: h["status"],
		Total: f.int("total"), Done: f.int("done"), Passed: f.int("passed"), Failed: f.int("failed"),
		Errored: f.int("errored"), Canceled: f.int("canceled"), StartedAt: f.time("started_at"),
		CompletedAt: f.time("completed_at"), DurationMS: int64(f.int("duration_ms")),
		Latency: batch.Latency{P50: f.float("p50"), P95: f.float("p95"), P99: f.float("p99")}}
	if err := errors.Join(f.errs...); err != nil {
		return BatchProgress{}, false, fmt.Errorf("views: batch %s is damaged: %w", batchID, err)
	}
	return p, true, nil
}

// LatestBatch is the app's newest submitted batch.
func (r *Reader) LatestBatch(ctx context.Context, appID string) (batchID string, found bool, err error) {
	var cmd *redis.StringSliceCmd
	if err := r.view(ctx, func(p redis.Pipeliner, n ns) { cmd = p.ZRange(ctx, n.latest(appID), -1, -1) }); err != nil {
		return "", false, err
	}
	if v := cmd.Val(); len(v) > 0 {
		return v[0], true, nil
	}
	return "", false, nil
}

// InterfaceHealth is the interface's pass rate over its last results (canceled ones do not count).
func (r *Reader) InterfaceHealth(ctx context.Context, ifaceID string) (Health, error) {
	var cmd *redis.StringSliceCmd
	if err := r.view(ctx, func(p redis.Pipeliner, n ns) { cmd = p.ZRange(ctx, n.health(ifaceID), 0, -1) }); err != nil {
		return Health{}, err
	}
	h := Health{Count: len(cmd.Val())}
	for _, m := range cmd.Val() {
		if strings.HasPrefix(m, "p.") {
			h.Passed++
		}
	}
	if h.Count > 0 {
		h.PassRate = float64(h.Passed) / float64(h.Count)
	}
	return h, nil
}

// Slowest lists the app's n slowest interfaces, slowest first (n ≤ 0: Config.SlowestPerApp).
func (r *Reader) Slowest(ctx context.Context, appID string, n int) ([]Slow, error) {
	if n <= 0 {
		n = r.cfg.SlowestPerApp
	}
	var cmd *redis.ZSliceCmd
	err := r.view(ctx, func(p redis.Pipeliner, ns ns) {
		cmd = p.ZRevRangeWithScores(ctx, ns.slowest(appID), 0, int64(n-1))
	})
	if err != nil {
		return nil, err
	}
	out := make([]Slow, 0, len(cmd.Val()))
	for _, z := range cmd.Val() {
		id, _ := z.Member.(string)
		out = append(out, Slow{InterfaceID: id, DurationMS: z.Score})
	}
	return out, nil
}

// fields parses a hash's fields; a missing field is zero, a malformed one an error.
type fields struct {
	h    map[string]string
	errs []error
}

func (f *fields) int(name string) int {
	v, err := parse(f.h[name], strconv.Atoi)
	f.errs = append(f.errs, err)
	return v
}

func (f *fields) float(name string) float64 {
	v, err := parse(f.h[name], func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	f.errs = append(f.errs, err)
	return v
}

func (f *fields) time(name string) time.Time {
	v, err := parse(f.h[name], func(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) })
	f.errs = append(f.errs, err)
	return v
}

func parse[T any](s string, fn func(string) (T, error)) (T, error) {
	var zero T
	if s == "" {
		return zero, nil
	}
	v, err := fn(s)
	if err != nil {
		return zero, err
	}
	return v, nil
}
