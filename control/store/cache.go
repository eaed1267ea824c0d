package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// readCache keeps the reads every call makes (the dialled number and its
// route, the application, the account, the SIP domain a URI names) in
// memory. At 500 calls/s those lookups were an eighth of the daemon's CPU,
// almost all of it in SQLite, for rows that change a few times a day.
//
// An entry is valid while no directory write has been committed since it
// was loaded (SQLite.gen, bumped after every such write of this process) and
// for at most the TTL, which bounds how long a write by another process on
// the same file (another tandem on shared storage) goes unseen. Not-found
// answers are cached too: most <Sip> hosts are not tandem's domains. The
// cache is bounded; when full it starts over, which is cheap and keeps no
// per-entry bookkeeping on the read path.
type readCache struct {
	ttl time.Duration
	max int

	mu sync.RWMutex
	m  map[cacheKey]cacheEntry

	hits, misses atomic.Uint64
}

type cacheKind uint8

const (
	cacheAccount cacheKind = iota + 1
	cacheApplication
	cacheNumber
	cacheDomain
	cacheCredential
)

type cacheKey struct {
	kind cacheKind
	key  string
}

type cacheEntry struct {
	gen uint64
	at  time.Time
	val any
	err error // nil or an ErrNotFound
}

// CacheStats counts the read cache's answers.
type CacheStats struct {
	Hits, Misses uint64
	Entries      int
}

func newReadCache(ttl time.Duration, max int) *readCache {
	if ttl <= 0 || max <= 0 {
		return nil
	}
	return &readCache{ttl: ttl, max: max, m: make(map[cacheKey]cacheEntry)}
}

// cached answers a read from the cache when it can, else from load, and
// keeps load's answer when it is a value or a not-found. The generation is
// read before load runs, so that a write committed while load reads marks
// what it read as stale.
func cached[T any](s *SQLite, kind cacheKind, key string, load func() (T, error)) (T, error) {
	c := s.cache
	if c == nil {
		return load()
	}
	k := cacheKey{kind, key}
	gen := s.gen.Load()
	now := time.Now()
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && e.gen == gen && now.Sub(e.at) < c.ttl {
		c.hits.Add(1)
		if e.err != nil {
			var zero T
			return zero, e.err
		}
		return e.val.(T), nil
	}
	c.misses.Add(1)
	v, err := load()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return v, err
	}
	e = cacheEntry{gen: gen, at: now, err: err}
	if err == nil {
		e.val = v
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = e
	c.mu.Unlock()
	return v, err
}

// changed marks every cached read stale. Every write to the tables the
// cache reads calls it once the write is committed.
func (s *SQLite) changed() { s.gen.Add(1) }

// CacheStats returns the read cache's counters (zero when it is off).
func (s *SQLite) CacheStats() CacheStats {
	c := s.cache
	if c == nil {
		return CacheStats{}
	}
	c.mu.RLock()
	n := len(c.m)
	c.mu.RUnlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: n}
}
