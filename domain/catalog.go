package domain

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Upcaster turns the JSON of an event at version v into its JSON at version v+1.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

type entry struct {
	version   int
	new       func() Event
	upcasters map[int]Upcaster // from version → next
}

// Catalog knows every event type: its name, its current schema version, how to make an
// empty value to decode into, and how to upcast older versions.
type Catalog struct {
	types map[string]*entry
}

// NewCatalog is an empty catalog; aggregates' Register functions fill it.
func NewCatalog() *Catalog { return &Catalog{types: map[string]*entry{}} }

// Register adds an event type T (a value type) at its current schema version.
func Register[T Event](c *Catalog, version int) {
	var zero T
	name := zero.EventType()
	if _, dup := c.types[name]; dup {
		panic(fmt.Sprintf("domain: event type %q registered twice", name))
	}
	if version < 1 {
		panic(fmt.Sprintf("domain: event type %q: version must be ≥ 1", name))
	}
	c.types[name] = &entry{
		version:   version,
		new:       func() Event { var v T; return v },
		upcasters: map[int]Upcaster{},
	}
}

// RegisterUpcaster adds the step from version `from` to from+1 of an event type.
func (c *Catalog) RegisterUpcaster(name string, from int, up Upcaster) {
	e, ok := c.types[name]
	if !ok {
		panic(fmt.Sprintf("domain: upcaster for unregistered event type %q", name))
	}
	e.upcasters[from] = up
}

// Version is the current schema version of a type (0 if unknown).
func (c *Catalog) Version(name string) int {
	if e, ok := c.types[name]; ok {
		return e.version
	}
	return 0
}

// Types lists the registered type names, sorted.
func (c *Catalog) Types() []string {
	out := make([]string, 0, len(c.types))
	for n := range c.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// New is a zero value of a registered type (for tests and tools).
func (c *Catalog) New(name string) (Event, bool) {
	e, ok := c.types[name]
	if !ok {
		return nil, false
	}
	return e.new(), true
}

// Encode is the JSON of an event's data and its current version.
func (c *Catalog) Encode(e Event) ([]byte, int, error) {
	ent, ok := c.types[e.EventType()]
	if !ok {
		return nil, 0, fmt.Errorf("encode %q: %w", e.EventType(), ErrUnknownEvent)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, 0, fmt.Errorf("encode %q: %w", e.EventType(), err)
	}
	return b, ent.version, nil
}

// Decode turns stored JSON of a type at a version into the current event value, upcasting
// old versions step by step. An unknown type, a version newer than this build, a missing
// upcaster or corrupt JSON is an error wrapping ErrUnknownEvent (or the JSON error).
func (c *Catalog) Decode(name string, version int, data []byte) (Event, error) {
	ent, ok := c.types[name]
	if !ok {
		return nil, fmt.Errorf("decode %q: type %w", name, ErrUnknownEvent)
	}
	if version < 1 || version > ent.version {
		return nil, fmt.Errorf("decode %q: version %d (this build knows ≤ %d): %w", name, version, ent.version, ErrUnknownEvent)
	}
	raw := json.RawMessage(data)
	for v := version; v < ent.version; v++ {
		up, ok := ent.upcasters[v]
		if !ok {
			return nil, fmt.Errorf("decode %q: no upcaster from version %d: %w", name, v, ErrUnknownEvent)
		}
		var err error
		if raw, err = up(raw); err != nil {
			return nil, fmt.Errorf("decode %q: upcast from version %d: %w", name, v, err)
		}
	}
	return decodeInto(ent.new, name, raw)
}

func decodeInto(newFn func() Event, name string, raw json.RawMessage) (Event, error) {
	zero := newFn()
	ptr := reflectNew(zero)
	if err := json.Unmarshal(raw, ptr); err != nil {
		return nil, fmt.Errorf("decode %q: %w", name, err)
	}
	return reflectElem(ptr), nil
}
