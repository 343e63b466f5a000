package api

import (
	"container/list"
	"sync"

	"github.com/assay-dev/assay/projections/tables"
)

// batchCache keeps finished batches' answers, each tagged with the read side's sequence
// when it was read: an entry is good only while the read side has applied nothing newer,
// so a cached answer is never older than one read from the table. CI pipelines poll a
// batch until it is done, then read it again and again; those reads skip the database.
type batchCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used
	items map[string]*list.Element
}

type cachedBatch struct {
	key   string
	seq   uint64
	batch tables.Batch
}

func newBatchCache(max int) *batchCache {
	return &batchCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *batchCache) get(key string, seq uint64) (tables.Batch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok || el.Value.(*cachedBatch).seq != seq {
		return tables.Batch{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cachedBatch).batch, true
}

func (c *batchCache) put(key string, seq uint64, b tables.Batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value = &cachedBatch{key: key, seq: seq, batch: b}
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&cachedBatch{key: key, seq: seq, batch: b})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cachedBatch).key)
	}
}
