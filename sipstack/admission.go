package sipstack

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// gcra is a token bucket in the form of the generic cell rate algorithm: one
// atomic "theoretical arrival time", so a check is a load and a CAS, with
// no lock and no allocation.
type gcra struct {
	tat      atomic.Int64 // unix ns at which the bucket is full again
	interval int64        // ns per token
	tau      int64        // burst tolerance: (burst-1)*interval
}

func newGCRA(rate float64, burst int) *gcra {
	g := &gcra{}
	g.init(rate, burst)
	return g
}

func (g *gcra) init(rate float64, burst int) {
	if burst < 1 {
		burst = 1
	}
	g.interval = int64(float64(time.Second) / rate)
	if g.interval < 1 {
		g.interval = 1
	}
	g.tau = int64(burst-1) * g.interval
}

// allow takes one token at time now (unix ns) if there is one.
func (g *gcra) allow(now int64) bool {
	for {
		old := g.tat.Load()
		t := old
		if t < now {
			t = now
		}
		if t-now > g.tau {
			return false
		}
		if g.tat.CompareAndSwap(old, t+g.interval) {
			return true
		}
	}
}

// idle reports whether the bucket is full again at now (its state carries no
// information and it may be evicted).
func (g *gcra) idle(now int64) bool { return g.tat.Load() <= now }

const sourceShards = 64

// sourceTable holds one bucket per source IP, bounded in size: when a shard
// is full, an idle bucket (or, under a spoofed flood, any bucket) is evicted,
// so memory does not grow with the number of sources.
type sourceTable struct {
	rate     float64
	burst    int
	perShard int
	shards   [sourceShards]sourceShard
}

type sourceShard struct {
	mu sync.RWMutex
	m  map[netip.Addr]*gcra
}

func newSourceTable(rate float64, burst, max int) *sourceTable {
	t := &sourceTable{rate: rate, burst: burst, perShard: max/sourceShards + 1}
	for i := range t.shards {
		t.shards[i].m = make(map[netip.Addr]*gcra)
	}
	return t
}

func shardOf(a netip.Addr) int {
	b := a.As16()
	h := uint32(2166136261)
	for _, x := range b[8:] {
		h = (h ^ uint32(x)) * 16777619
	}
	return int(h % sourceShards)
}

func (t *sourceTable) allow(src netip.Addr, now int64) bool {
	sh := &t.shards[shardOf(src)]
	sh.mu.RLock()
	g := sh.m[src]
	sh.mu.RUnlock()
	if g == nil {
		sh.mu.Lock()
		if g = sh.m[src]; g == nil {
			if len(sh.m) >= t.perShard {
				t.evict(sh, now)
			}
			g = newGCRA(t.rate, t.burst)
			sh.m[src] = g
		}
		sh.mu.Unlock()
	}
	return g.allow(now)
}

// evict removes an idle bucket, or the first one seen after a bounded scan.
func (t *sourceTable) evict(sh *sourceShard, now int64) {
	n := 0
	var victim netip.Addr
	for a, g := range sh.m {
		if g.idle(now) {
			delete(sh.m, a)
			return
		}
		if n == 0 {
			victim = a
		}
		if n++; n >= 16 {
			break
		}
	}
	delete(sh.m, victim)
}

func (t *sourceTable) size() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// admission runs the cheap checks that guard everything costly: the
// per-source bucket, the global calls-per-second bucket and the concurrent
// call cap, in that order.
type admission struct {
	perSource *sourceTable // nil: unlimited
	cps       *gcra        // nil: unlimited
	maxCalls  int64        // 0: unlimited
	active    *atomic.Int64
}

func newAdmission(cfg AdmissionConfig, active *atomic.Int64) *admission {
	a := &admission{maxCalls: int64(cfg.MaxCalls), active: active}
	if cfg.PerSourceRate > 0 {
		a.perSource = newSourceTable(cfg.PerSourceRate, cfg.PerSourceBurst, cfg.MaxSources)
	}
	if cfg.MaxCPS > 0 {
		burst := int(cfg.MaxCPS / 10) // absorb 100 ms of jitter
		if burst < 1 {
			burst = 1
		}
		a.cps = newGCRA(cfg.MaxCPS, burst)
	}
	return a
}

// admit takes a call slot for a new INVITE from src at now (unix ns). On
// success the caller must release the slot with done when the call ends.
func (a *admission) admit(src netip.Addr, now int64) (Reason, bool) {
	if a.perSource != nil && !a.perSource.allow(src, now) {
		return ReasonRateLimited, false
	}
	if a.cps != nil && !a.cps.allow(now) {
		return ReasonMaxCPS, false
	}
	n := a.active.Add(1)
	if a.maxCalls > 0 && n > a.maxCalls {
		a.active.Add(-1)
		return ReasonMaxCalls, false
	}
	return 0, true
}

func (a *admission) done() { a.active.Add(-1) }

// trunkTable maps a source address to the inbound trunk that owns it.
type trunkTable struct {
	names    []string
	prefixes [][]netip.Prefix
}

func newTrunkTable(trunks []InboundTrunk) (*trunkTable, error) {
	t := &trunkTable{}
	for _, tr := range trunks {
		var ps []netip.Prefix
		for _, c := range tr.CIDRs {
			p, err := parsePrefix(c)
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
		t.names = append(t.names, tr.Name)
		t.prefixes = append(t.prefixes, ps)
	}
	return t, nil
}

// match returns the name of the first trunk whose CIDRs contain a.
func (t *trunkTable) match(a netip.Addr) (string, bool) {
	a = a.Unmap()
	for i, ps := range t.prefixes {
		for _, p := range ps {
			if p.Contains(a) {
				return t.names[i], true
			}
		}
	}
	return "", false
}
