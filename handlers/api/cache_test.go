package api

import (
	"testing"

	"github.com/assay-dev/assay/projections/tables"
)

func TestBatchCacheIsGoodOnlyAtItsSequence(t *testing.T) {
	t.Parallel()
	c := newBatchCache(2)
	c.put("u/a", 10, tables.Batch{ID: "a", Status: "completed"})
	if b, ok := c.get("u/a", 10); !ok || b.ID != "a" {
		t.Fatalf("hit at the same sequence: %v %+v", ok, b)
	}
	if _, ok := c.get("u/a", 11); ok {
		t.Fatal("an entry read at 10 answered at 11: the read side may have changed it")
	}
	c.put("u/b", 10, tables.Batch{ID: "b"})
	c.get("u/a", 10) // a is now the most recently used
	c.put("u/c", 10, tables.Batch{ID: "c"})
	if _, ok := c.get("u/b", 10); ok {
		t.Fatal("the least recently used entry was kept past the bound")
	}
	if _, ok := c.get("u/a", 10); !ok {
		t.Fatal("a recently used entry was dropped")
	}
	if _, ok := c.get("v/a", 10); ok {
		t.Fatal("another user's key answered")
	}
}
