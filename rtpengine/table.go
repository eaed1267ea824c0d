package rtpengine

import (
	"sync"
	"sync/atomic"
)

// flow is one entry of the forwarding table: packets from key belong to leg.
// Entries are immutable once published; a change publishes a new entry.
type flow struct {
	key  flowKey
	leg  *Leg
	kind int // streamRTP or streamRTCP
	// drainUntil, when not zero, marks the flow of a released leg: packets
	// are dropped (and counted) until then so they cannot be latched to a
	// new leg expecting the same IP.
	drainUntil int64
}

// tombstone marks a deleted slot so that probe chains stay intact.
var tombstone = &flow{}

// flowTable is an open-addressing hash table whose reads take no lock: a
// reader loads the slot array with one atomic load and each slot with
// another. Writers (control path, and latching, once per flow) serialise
// on mu, and grow or clean the table by publishing a new slot array.
type flowTable struct {
	mu   sync.Mutex
	seed uint64
	cur  atomic.Pointer[flowSlots]
	live int // entries, guarded by mu
	max  int // bound on live entries
}

type flowSlots struct {
	mask  uint64
	slots []atomic.Pointer[flow]
	used  int // live entries plus tombstones, guarded by flowTable.mu
}

func newFlowTable(seed uint64, max int) *flowTable {
	t := &flowTable{seed: seed, max: max}
	t.cur.Store(newSlots(64))
	return t
}

func newSlots(n int) *flowSlots {
	return &flowSlots{mask: uint64(n - 1), slots: make([]atomic.Pointer[flow], n)}
}

// lookup returns the flow for k or nil. Lock-free, allocation-free.
func (t *flowTable) lookup(k *flowKey) *flow {
	s := t.cur.Load()
	i := k.hash(t.seed) & s.mask
	for n := uint64(0); n <= s.mask; n++ {
		f := s.slots[i].Load()
		if f == nil {
			return nil
		}
		if f != tombstone && f.key == *k {
			return f
		}
		i = (i + 1) & s.mask
	}
	return nil
}

// put inserts or replaces the flow for f.key.
func (t *flowTable) put(f *flow) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.cur.Load()
	i := f.key.hash(t.seed) & s.mask
	free := -1
	for n := uint64(0); n <= s.mask; n++ {
		cur := s.slots[i].Load()
		if cur == nil {
			break
		}
		if cur == tombstone {
			if free < 0 {
				free = int(i)
			}
		} else if cur.key == f.key {
			s.slots[i].Store(f)
			return nil
		}
		i = (i + 1) & s.mask
	}
	if t.live >= t.max {
		return ErrTableCapacity
	}
	if free >= 0 {
		s.slots[free].Store(f)
		t.live++
		return nil
	}
	// Keep the load factor at or below one half so probe chains stay short.
	if (s.used+1)*2 > len(s.slots) {
		s = t.rebuild(t.live + 1)
		i = f.key.hash(t.seed) & s.mask
		for s.slots[i].Load() != nil {
			i = (i + 1) & s.mask
		}
	}
	s.slots[i].Store(f)
	s.used++
	t.live++
	return nil
}

// rebuild publishes a fresh slot array sized for need entries, dropping
// tombstones. Readers holding the old array keep a consistent snapshot.
func (t *flowTable) rebuild(need int) *flowSlots {
	n := 64
	for n < need*4 {
		n <<= 1
	}
	old := t.cur.Load()
	s := newSlots(n)
	for i := range old.slots {
		f := old.slots[i].Load()
		if f == nil || f == tombstone {
			continue
		}
		j := f.key.hash(t.seed) & s.mask
		for s.slots[j].Load() != nil {
			j = (j + 1) & s.mask
		}
		s.slots[j].Store(f)
		s.used++
	}
	t.cur.Store(s)
	return s
}

// remove deletes k's flow if it is f (or any flow when f is nil) and
// reports whether it did.
func (t *flowTable) remove(k flowKey, f *flow) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.cur.Load()
	i := k.hash(t.seed) & s.mask
	for n := uint64(0); n <= s.mask; n++ {
		cur := s.slots[i].Load()
		if cur == nil {
			return false
		}
		if cur != tombstone && cur.key == k {
			if f != nil && cur != f {
				return false
			}
			s.slots[i].Store(tombstone)
			t.live--
			return true
		}
		i = (i + 1) & s.mask
	}
	return false
}

// len returns the number of live entries.
func (t *flowTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live
}

// each calls fn for every live flow (control path only).
func (t *flowTable) each(fn func(*flow)) {
	s := t.cur.Load()
	for i := range s.slots {
		if f := s.slots[i].Load(); f != nil && f != tombstone {
			fn(f)
		}
	}
}
