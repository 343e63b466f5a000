// Package views is the Redis read side of assay: live batch progress, the latest batch of
// each app, rolling health per interface and the slowest interfaces of each app. It is one
// projection ("views") fed by the projections engine, rebuildable beside the live copy.
//
// Key layout (P = Config.KeyPrefix; the braces are a hash tag, so every key of a prefix lives
// in one cluster slot and one MULTI/EXEC may touch them all):
//
//	{P}:views:live             hash  gen, seq, epoch: the live generation (readers resolve it) and the live checkpoint
//	{P}:views:gens             int   generation counter (INCR allocates a shadow's namespace)
//	{P}:views:g<gen>:...       one generation's namespace (ns):
//	  ns:ckpt                  hash  gen, seq, epoch: a shadow's own checkpoint (exists only while it is a shadow)
//	  ns:applying              int   events applied so far inside the current EXEC (never outlives it)
//	  ns:batch:<batch>         hash  app_id environment status total done passed failed errored canceled
//	                                 started_at completed_at duration_ms p50 p95 p99
//	  ns:outcomes:<batch>      hash  case → outcome, while the batch runs (makes the counters idempotent)
//	  ns:latest:<app>          zset  the app's newest submitted batch, scored by its stream seq (one member)
//	  ns:health:<iface>        zset  "<o>.<batch>.<case>" scored by stream seq: the last N results (o = p|f|e)
//	  ns:dur:<iface>           zset  the same members scored by duration_ms (responses only: passed, failed)
//	  ns:slowest:<app>         zset  interface → its slowest duration_ms among its last N results
package views

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Name is the projection's name: its durable consumer and its checkpoint.
const Name = "views"

// Config tunes the views.
type Config struct {
	// KeyPrefix starts every key (default "assay"); one prefix = one independent set of views.
	KeyPrefix string
	// HealthWindow is how many recent results of an interface its health covers (default 100).
	HealthWindow int
	// SlowestPerApp is how many interfaces Reader.Slowest lists when not told (default 20).
	// The view itself keeps every interface of the app that has a recent response, so the
	// ranking is exact (an app has few interfaces; deleting one removes it).
	SlowestPerApp int
}

func (c *Config) setDefaults() {
	if c.KeyPrefix == "" {
		c.KeyPrefix = "assay"
	}
	if c.HealthWindow == 0 {
		c.HealthWindow = 100
	}
	if c.SlowestPerApp == 0 {
		c.SlowestPerApp = 20
	}
}

// Validate reports a config New would refuse (after defaults are applied).
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	if strings.ContainsAny(c.KeyPrefix, "{}*?[]\\ \t\r\n") {
		errs = append(errs, fmt.Errorf("views: key prefix %q must not contain braces, glob characters or spaces", c.KeyPrefix))
	}
	if c.HealthWindow < 1 || c.HealthWindow > 100_000 {
		errs = append(errs, fmt.Errorf("views: health window %d must be between 1 and 100000", c.HealthWindow))
	}
	if c.SlowestPerApp < 1 || c.SlowestPerApp > 10_000 {
		errs = append(errs, fmt.Errorf("views: slowest per app %d must be between 1 and 10000", c.SlowestPerApp))
	}
	return errors.Join(errs...)
}

// keys names the keys of one prefix.
type keys struct{ root string }

func newKeys(prefix string) keys { return keys{root: "{" + prefix + "}:views"} }

func (k keys) live() string { return k.root + ":live" }
func (k keys) gens() string { return k.root + ":gens" }

// ns is a generation's namespace; its keys all start with ns + ":".
func (k keys) ns(gen int64) ns { return ns(k.root + ":g" + strconv.FormatInt(gen, 10)) }

type ns string

func (n ns) key(kind, id string) string { return string(n) + ":" + kind + ":" + id }
func (n ns) ckpt() string               { return string(n) + ":ckpt" }
func (n ns) applying() string           { return string(n) + ":applying" }
func (n ns) batch(id string) string     { return n.key("batch", id) }
func (n ns) outcomes(id string) string  { return n.key("outcomes", id) }
func (n ns) latest(app string) string   { return n.key("latest", app) }
func (n ns) health(iface string) string { return n.key("health", iface) }
func (n ns) dur(iface string) string    { return n.key("dur", iface) }
func (n ns) slowest(app string) string  { return n.key("slowest", app) }

// pattern matches every key of the namespace (the prefix holds no glob characters).
func (n ns) pattern() string { return string(n) + ":*" }

// internal keys are bookkeeping, not views: Checksum leaves them out.
func (n ns) internal(key string) bool { return key == n.ckpt() || key == n.applying() }
