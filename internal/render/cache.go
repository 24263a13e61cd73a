package render

import "container/list"

// result is a cached render: objects or an error.
type result struct {
	objects []Object
	err     error
}

// lru keeps the most recently used results, up to size.
type lru struct {
	size  int
	order *list.List // of *entry, most recent first
	items map[string]*list.Element
}

type entry struct {
	key string
	val result
}

func newLRU(size int) *lru {
	return &lru{size: size, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(key string) (result, bool) {
	e, ok := c.items[key]
	if !ok {
		return result{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*entry).val, true
}

func (c *lru) add(key string, val result) {
	if c.size <= 0 {
		return
	}
	if e, ok := c.items[key]; ok {
		e.Value.(*entry).val = val
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&entry{key: key, val: val})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*entry).key)
	}
}
