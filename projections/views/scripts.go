package views

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Every event is one script, and every script ends by counting itself in ns:applying. The
// checkpoint script, last in the MULTI, writes the checkpoint only if all of them got there:
// commands inside EXEC fail one by one without rolling the others back, so a failed script
// (NOSCRIPT after a SCRIPT FLUSH, WRONGTYPE on a damaged key) must not let the checkpoint move
// past it. Each script is idempotent on its own, so the retry that follows redoes them safely.
// Every script returns a value: a nil reply would read as redis.Nil.

// statusLua moves a batch's status forward only (running < completed = canceled < analyzed <
// reported), as the aggregate's Status does; a replayed older event cannot move it back.
const statusLua = `
local rank = {running = 0, completed = 1, canceled = 1, analyzed = 2, reported = 3}
local function advance(key, status)
  local cur = redis.call('HGET', key, 'status')
  if cur and rank[status] > (rank[cur] or 0) then
    redis.call('HSET', key, 'status', status)
  end
end
`

// KEYS: batch, latest, applying. ARGV: app, environment, total, started_at, seq, batch id.
var submittedScript = newScript(`
if redis.call('HSETNX', KEYS[1], 'app_id', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'environment', ARGV[2], 'status', 'running', 'total', ARGV[3], 'done', 0,
    'passed', 0, 'failed', 0, 'errored', 0, 'canceled', 0, 'started_at', ARGV[4])
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -2)
return redis.call('INCR', KEYS[3])
`)

// Results come many to a call, and the call does per batch and per interface what it can
// once: in Redis 7 each redis.call costs ~1–2 µs, more than the command itself. Applying a
// run of results together ends where applying them one by one would: a case counts once
// (HSETNX), only while its batch runs (completion writes the final totals and drops the
// outcomes); a window keeps the N highest sequences however they arrive (a replayed result
// that was already trimmed is the lowest and is trimmed again); slowest is recomputed from
// the window. KEYS: applying, then for each result: batch, outcomes, health, dur, slowest.
// ARGV: window, then for each result: case, outcome, member, seq, duration_ms, interface.
var resultScript = newScript(`
local window, count = tonumber(ARGV[1]), (#KEYS - 1) / 5
local running, counts, batches, windows, ifaces = {}, {}, {}, {}, {}
for i = 0, count - 1 do
  local k, a = 1 + 5 * i, 1 + 6 * i
  local batch, health, outcome, member = KEYS[k + 1], KEYS[k + 3], ARGV[a + 2], ARGV[a + 3]
  if running[batch] == nil then
    running[batch] = redis.call('HGET', batch, 'status') == 'running'
  end
  if running[batch] and redis.call('HSETNX', KEYS[k + 2], ARGV[a + 1], outcome) == 1 then
    local c = counts[batch]
    if not c then
      c = {done = 0}
      counts[batch] = c
      batches[#batches + 1] = batch
    end
    c.done = c.done + 1
    c[outcome] = (c[outcome] or 0) + 1
  end
  if outcome ~= 'canceled' then
    local w = windows[health]
    if not w then
      w = {dur = KEYS[k + 4], slowest = KEYS[k + 5], iface = ARGV[a + 6], seqs = {}, durs = {}}
      windows[health] = w
      ifaces[#ifaces + 1] = health
    end
    w.seqs[#w.seqs + 1], w.seqs[#w.seqs + 2] = ARGV[a + 4], member
    if outcome ~= 'errored' then
      w.durs[#w.durs + 1], w.durs[#w.durs + 2] = ARGV[a + 5], member
    end
  end
end
for _, batch in ipairs(batches) do
  for field, n in pairs(counts[batch]) do
    redis.call('HINCRBY', batch, field, n)
  end
end
local function zrem(key, members)
  for i = 1, #members, 500 do
    redis.call('ZREM', key, unpack(members, i, math.min(i + 499, #members)))
  end
end
for _, health in ipairs(ifaces) do
  local w = windows[health]
  redis.call('ZADD', health, unpack(w.seqs))
  if #w.durs > 0 then
    redis.call('ZADD', w.dur, unpack(w.durs))
  end
  local extra = redis.call('ZCARD', health) - window
  if extra > 0 then
    local old = redis.call('ZRANGE', health, 0, extra - 1)
    zrem(health, old)
    zrem(w.dur, old)
  end
  local top = redis.call('ZRANGE', w.dur, -1, -1, 'WITHSCORES')
  if #top == 0 then
    redis.call('ZREM', w.slowest, w.iface)
  else
    redis.call('ZADD', w.slowest, top[2], w.iface)
  end
end
return redis.call('INCRBY', KEYS[1], count)
`)

// KEYS: batch, outcomes, applying. ARGV: status, then field/value pairs (the final totals).
var completedScript = newScript(statusLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  advance(KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
end
return redis.call('INCR', KEYS[3])
`)

// KEYS: batch, applying. ARGV: status.
var statusScript = newScript(statusLua + `
advance(KEYS[1], ARGV[1])
return redis.call('INCR', KEYS[2])
`)

// KEYS: health, dur, slowest, applying. ARGV: interface.
var forgetScript = newScript(`
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return redis.call('INCR', KEYS[4])
`)

// KEYS: checkpoint, applying. ARGV: events expected, gen, seq, epoch.
var checkpointScript = newScript(`
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('DEL', KEYS[2])
if n ~= tonumber(ARGV[1]) then
  return redis.error_reply('ASSAYPARTIAL ' .. n .. ' of ' .. ARGV[1] .. ' events applied; checkpoint not written')
end
redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'seq', ARGV[3], 'epoch', ARGV[4])
return n
`)

var allScripts = []*script{submittedScript, resultScript, completedScript, statusScript, forgetScript, checkpointScript}

// script is a Lua script run by its SHA1 (EVALSHA) inside transactions.
type script struct{ src, sha string }

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(sum[:])}
}

// queue adds the script's EVALSHA to a pipeline.
func (s *script) queue(ctx context.Context, p redis.Pipeliner, keys []string, args ...any) *redis.Cmd {
	return p.EvalSha(ctx, s.sha, keys, args...)
}

// loadScripts puts every script in the server's cache (on a cluster, ScriptLoad reaches
// every shard).
func loadScripts(ctx context.Context, rdb redis.UniversalClient) error {
	for _, s := range allScripts {
		if err := rdb.ScriptLoad(ctx, s.src).Err(); err != nil {
			return fmt.Errorf("views: load scripts: %w", err)
		}
	}
	return nil
}
