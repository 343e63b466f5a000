package views

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Checksum digests every view key of the live generation and its value, in key order, with
// key names relative to the generation (so two prefixes, or a live projection and a
// promoted rebuild, compare equal when their views do). Checkpoints are not views and are
// left out: a rebuild lives in a later epoch.
func (v *Views) Checksum(ctx context.Context) (string, error) {
	for range maxAttempts {
		before, err := readState(ctx, v.rdb, v.keys.live())
		if err != nil {
			return "", err
		}
		sum, err := v.digest(ctx, v.keys.ns(before.gen))
		if err != nil {
			return "", err
		}
		after, err := readState(ctx, v.rdb, v.keys.live())
		if err != nil {
			return "", err
		}
		if after.gen == before.gen {
			return sum, nil
		}
	}
	return "", fmt.Errorf("views: checksum: the live generation kept changing")
}

func (v *Views) digest(ctx context.Context, n ns) (string, error) {
	var names []string
	it := v.rdb.Scan(ctx, 0, n.pattern(), 1000).Iterator()
	for it.Next(ctx) {
		if k := it.Val(); !n.internal(k) {
			names = append(names, k)
		}
	}
	if err := it.Err(); err != nil {
		return "", fmt.Errorf("views: checksum: scan %s: %w", n, err)
	}
	slices.Sort(names)
	names = slices.Compact(names) // SCAN may return a key twice
	h := sha256.New()
	for chunk := range slices.Chunk(names, 500) {
		if err := v.digestKeys(ctx, h, n, chunk); err != nil {
			return "", fmt.Errorf("views: checksum %s: %w", n, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digestKeys writes keys and their values: TYPE of each in one round trip, values in another.
func (v *Views) digestKeys(ctx context.Context, h hash.Hash, n ns, names []string) error {
	types := make([]*redis.StatusCmd, len(names))
	cmds, err := v.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range names {
			types[i] = p.Type(ctx, k)
		}
		return nil
	})
	if err = readErr(cmds, err); err != nil {
		return err
	}
	vals := make([]redis.Cmder, len(names))
	cmds, err = v.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range names {
			if vals[i], err = queueValue(ctx, p, k, types[i].Val()); err != nil {
				return err
			}
		}
		return nil
	})
	if err = readErr(cmds, err); err != nil {
		return err
	}
	for i, k := range names {
		if vals[i] != nil {
			write(h, strings.TrimPrefix(k, string(n)), types[i].Val())
			writeValue(h, vals[i])
		}
	}
	return nil
}

// queueValue reads a key whole (nil for a key gone since the scan).
func queueValue(ctx context.Context, p redis.Pipeliner, key, typ string) (redis.Cmder, error) {
	switch typ {
	case "hash":
		return p.HGetAll(ctx, key), nil
	case "zset":
		return p.ZRangeWithScores(ctx, key, 0, -1), nil
	case "string":
		return p.Get(ctx, key), nil
	case "none":
		return nil, nil
	}
	return nil, fmt.Errorf("key %s is a %s, which the views never write", key, typ)
}

func writeValue(h hash.Hash, cmd redis.Cmder) {
	switch c := cmd.(type) {
	case *redis.MapStringStringCmd:
		m := c.Val()
		for _, f := range slices.Sorted(maps.Keys(m)) {
			write(h, f, m[f])
		}
	case *redis.ZSliceCmd: // ordered by score, then member
		for _, z := range c.Val() {
			write(h, fmt.Sprint(z.Member), strconv.FormatFloat(z.Score, 'g', -1, 64))
		}
	case *redis.StringCmd:
		write(h, c.Val())
	}
}

// write adds length-prefixed strings, so no two different sequences digest alike.
func write(h hash.Hash, ss ...string) {
	for _, s := range ss {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	h.Write([]byte{'\n'})
}
