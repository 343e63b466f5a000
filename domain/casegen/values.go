package casegen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

type gen struct {
	rng  *rand.Rand
	skip []string // what could not be generated, and why
}

const letters = "abcdefghijklmnopqrstuvwxyz"

func (g *gen) letters(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.rng.IntN(len(letters))]
	}
	return string(b)
}

// valid is a value the schema accepts; ok is false when none could be made.
func (g *gen) valid(s *schema, depth int) (any, bool) {
	if s == nil {
		return "value", true
	}
	if len(s.enum) > 0 {
		return s.enum[0], true
	}
	switch s.primary() {
	case "string":
		return g.str(s)
	case "integer", "number":
		return g.number(s)
	case "boolean":
		return g.rng.IntN(2) == 0, true
	case "array":
		n := max(s.minItems, 1)
		if s.maxItems >= 0 {
			n = min(n, s.maxItems)
		}
		return g.array(s, n, depth)
	case "object":
		o := make(map[string]any, len(s.propNames))
		if depth >= maxDepth {
			return o, true
		}
		for _, k := range s.propNames {
			v, ok := g.valid(s.props[k], depth+1)
			switch {
			case ok:
				o[k] = v
			case slices.Contains(s.required, k):
				return nil, false
			} // an optional field without a valid value is left out
		}
		return o, true
	case "null":
		return nil, true
	}
	return "value", true
}

// array is n valid items, distinct when the schema wants unique items.
func (g *gen) array(s *schema, n, depth int) ([]any, bool) {
	out := make([]any, 0, n)
	seen := map[string]bool{}
	if s.items != nil && len(s.items.enum) > 0 && s.unique {
		for _, v := range s.items.enum {
			if len(out) == n {
				break
			}
			if k := key(v); !seen[k] {
				seen[k] = true
				out = append(out, v)
			}
		}
		return out, len(out) == n
	}
	for tries := 0; len(out) < n && tries < 20*n+20; tries++ {
		v, ok := g.valid(s.items, depth+1)
		if !ok {
			return nil, false
		}
		if s.unique {
			k := key(v)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, v)
	}
	return out, len(out) == n
}

func key(v any) string { return string(appendJSON(nil, v, nil)) }

func (g *gen) lenBounds(s *schema) (lo, hi int) {
	lo, hi = s.minLen, s.maxLen
	if hi < 0 {
		hi = 1 << 20
	}
	return lo, hi
}

// str is a valid string: of its format, matching its pattern, within its lengths.
func (g *gen) str(s *schema) (string, bool) {
	lo, hi := g.lenBounds(s)
	if lo > hi {
		return "", false
	}
	if s.format != "" {
		if v, ok := g.formatted(s.format, -1); ok {
			if v, ok := g.fit(s, v, lo, hi); ok {
				return v, true
			}
		}
	}
	if s.pattern != "" {
		return g.matching(s, lo, hi)
	}
	n := max(lo, min(hi, 8))
	return g.letters(n), true
}

// fit pads a formatted value into [lo, hi] when its format allows, and checks the result.
func (g *gen) fit(s *schema, v string, lo, hi int) (string, bool) {
	if n := len(v); n < lo {
		if p, ok := g.formatted(s.format, lo); ok {
			v = p
		}
	}
	if len(v) < lo || len(v) > hi || (s.re != nil && !s.re.MatchString(v)) {
		return "", false
	}
	return v, true
}

// exactLen is a string the schema accepts but for its lengths, of n characters, or false.
func (g *gen) exactLen(s *schema, n int) (string, bool) {
	switch {
	case s.format != "":
		v, ok := g.formatted(s.format, n)
		if ok && len(v) == n && (s.re == nil || s.re.MatchString(v)) {
			return v, true
		}
		return "", false
	case s.pattern != "":
		return g.matching(s, n, n)
	}
	return g.letters(n), true
}

// matching generates strings from the pattern until one has a length within [lo, hi].
func (g *gen) matching(s *schema, lo, hi int) (string, bool) {
	re := s.syn
	if s.re == nil || re == nil {
		return "", false
	}
	for try := range 60 {
		reps := 3
		if try > 10 {
			reps = 1 + g.rng.IntN(min(max(hi, 1), max(lo, 8)+16)+1)
		}
		var b strings.Builder
		if !g.regex(&b, re, reps, 0) {
			return "", false
		}
		v := b.String()
		if len(v) >= lo && len(v) <= hi && s.re.MatchString(v) {
			return v, true
		}
	}
	return "", false
}

// regex writes a string the expression matches; false for shapes it does not handle.
func (g *gen) regex(b *strings.Builder, re *syntax.Regexp, reps, depth int) bool {
	if depth > 50 || b.Len() > 4096 {
		return false
	}
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
		return true
	case syntax.OpCharClass:
		b.WriteRune(g.classRune(re.Rune))
		return true
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte(letters[g.rng.IntN(len(letters))])
		return true
	case syntax.OpCapture:
		return g.regex(b, re.Sub[0], reps, depth+1)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !g.regex(b, sub, reps, depth+1) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		return g.regex(b, re.Sub[g.rng.IntN(len(re.Sub))], reps, depth+1)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, reps
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 {
				hi = lo + reps
			}
		}
		hi = max(hi, lo)
		n := lo + g.rng.IntN(hi-lo+1)
		for range n {
			if !g.regex(b, re.Sub[0], reps, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// classRune picks a printable ASCII rune of a class when it has one.
func (g *gen) classRune(ranges []rune) rune {
	n := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		n += max(0, int(min(ranges[i+1], 0x7e)-max(ranges[i], 0x21)+1))
	}
	if n > 0 {
		k := g.rng.IntN(n)
		for i := 0; i+1 < len(ranges); i += 2 {
			lo, hi := max(ranges[i], 0x21), min(ranges[i+1], 0x7e)
			if w := int(hi - lo + 1); w > 0 {
				if k < w {
					return lo + rune(k)
				}
				k -= w
			}
		}
	}
	if len(ranges) == 0 {
		return 'a'
	}
	return ranges[0]
}

// formatted is a valid value of a format, padded to n characters when n > 0 and the
// format allows; false for a format it does not know.
func (g *gen) formatted(format string, n int) (string, bool) {
	pad := func(prefix, suffix string) string {
		if m := n - len(prefix) - len(suffix); m > 0 {
			return prefix + g.letters(m) + suffix
		}
		return prefix + g.letters(6) + suffix
	}
	switch format {
	case "email":
		return pad("", "@example.com"), true
	case "uuid":
		var u [16]byte
		for i := range u {
			u[i] = byte(g.rng.IntN(256))
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), true
	case "date-time":
		return fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02dZ", 1+g.rng.IntN(12), 1+g.rng.IntN(28), g.rng.IntN(24), g.rng.IntN(60), g.rng.IntN(60)), true
	case "date":
		return fmt.Sprintf("2024-%02d-%02d", 1+g.rng.IntN(12), 1+g.rng.IntN(28)), true
	case "time":
		return fmt.Sprintf("%02d:%02d:%02dZ", g.rng.IntN(24), g.rng.IntN(60), g.rng.IntN(60)), true
	case "uri", "url":
		return pad("https://example.com/", ""), true
	case "ipv4":
		return fmt.Sprintf("192.0.2.%d", 1+g.rng.IntN(254)), true
	case "ipv6":
		return fmt.Sprintf("2001:db8::%x", 1+g.rng.IntN(0xfffe)), true
	case "hostname":
		return pad("", ".example.com"), true
	}
	return "", false
}

// badFormat is a string that is not of the format.
var badFormat = map[string]string{
	"email": "not-an-email", "uuid": "not-a-uuid", "date-time": "2024-13-45T99:99:99Z",
	"date": "2024-13-45", "time": "99:99:99", "uri": "not a uri", "url": "not a uri",
	"ipv4": "999.1.1.1", "ipv6": "not:an:ipv6::zz", "hostname": "-bad_host-.example..com",
}

// step is the smallest change of a number that stays on the schema's grid.
func (s *schema) step() float64 {
	if s.multipleOf > 0 {
		return s.multipleOf
	}
	return 1
}

// align rounds v to the decimals of the step, so 3*0.1 is 0.3.
func (s *schema) align(v float64) float64 {
	if s.multipleOf == 0 {
		return v
	}
	d := decimals(s.step())
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

func decimals(f float64) int {
	str := strconv.FormatFloat(f, 'f', -1, 64)
	if i := strings.IndexByte(str, '.'); i >= 0 {
		return min(len(str)-i-1, 12)
	}
	return 0
}

// lowest is the smallest value on the grid the lower bound admits; ok false without one.
func (s *schema) lowest() (float64, bool) {
	if !s.hasMin {
		return 0, false
	}
	st := s.step()
	if s.primary() == "number" && s.multipleOf == 0 {
		if s.exclMin {
			return s.min + 1, true
		}
		return s.min, true
	}
	k := math.Ceil(s.min / st)
	if s.exclMin && k*st <= s.min {
		k++
	}
	return s.align(k * st), true
}

// highest mirrors lowest.
func (s *schema) highest() (float64, bool) {
	if !s.hasMax {
		return 0, false
	}
	st := s.step()
	if s.primary() == "number" && s.multipleOf == 0 {
		if s.exclMax {
			return s.max - 1, true
		}
		return s.max, true
	}
	k := math.Floor(s.max / st)
	if s.exclMax && k*st >= s.max {
		k--
	}
	return s.align(k * st), true
}

// inRange is true when v satisfies the schema's numeric keywords.
func (s *schema) inRange(v float64) bool {
	switch {
	case s.hasMin && (v < s.min || (s.exclMin && v == s.min)):
		return false
	case s.hasMax && (v > s.max || (s.exclMax && v == s.max)):
		return false
	case s.multipleOf > 0:
		q := v / s.multipleOf
		return math.Abs(q-math.Round(q)) < 1e-9
	case s.primary() == "integer":
		return v == math.Trunc(v)
	}
	return true
}

func (g *gen) number(s *schema) (float64, bool) {
	lo, hasLo := s.lowest()
	hi, hasHi := s.highest()
	st := s.step()
	switch {
	case !hasLo && !hasHi:
		lo = s.align(math.Ceil(1/st) * st)
		hi = lo + 100*st
	case !hasLo:
		lo = hi - 100*st
	case !hasHi:
		hi = lo + 100*st
	}
	if lo > hi {
		if s.hasMin && s.hasMax && s.primary() == "number" && s.multipleOf == 0 {
			v := (s.min + s.max) / 2
			return v, s.inRange(v)
		}
		return 0, false
	}
	n := int64(math.Floor((hi-lo)/st + 1e-9))
	v := s.align(lo + float64(g.rng.Int64N(n+1))*st)
	return v, s.inRange(v)
}
