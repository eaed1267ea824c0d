package rtpengine

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// portPool hands out dedicated port pairs (even RTP port, RTCP on the next,
// RFC 3550 §11) from a configured range. A released pair waits out the drain
// period before anyone gets it again, and pairs are reused oldest-first so a
// port stays quiet as long as the range allows.
type portPool struct {
	min, max int
	free     []int // FIFO of even base ports
	head     int
	inUse    int
	draining int
	// ephemeral: no range configured, the kernel picks ports.
	ephemeral bool
}

func newPortPool(min, max int) *portPool {
	p := &portPool{min: min, max: max}
	if min == 0 && max == 0 {
		p.ephemeral = true
		return p
	}
	base := min
	if base%2 == 1 {
		base++
	}
	for ; base+1 <= max; base += 2 {
		p.free = append(p.free, base)
	}
	return p
}

func (p *portPool) capacity() int {
	if p.ephemeral {
		return 1 << 15
	}
	return len(p.free)
}

// get returns a free base port (0 in ephemeral mode) or false.
func (p *portPool) get() (int, bool) {
	if p.ephemeral {
		p.inUse++
		return 0, true
	}
	if p.head >= len(p.free) {
		return 0, false
	}
	port := p.free[p.head]
	p.head++
	if p.head > 1024 && p.head*2 > len(p.free) {
		p.free = append(p.free[:0], p.free[p.head:]...)
		p.head = 0
	}
	p.inUse++
	return port, true
}

// unusable gives back a port that could not be bound (someone else holds
// it): it goes to the end of the queue.
func (p *portPool) unusable(port int) {
	p.inUse--
	if !p.ephemeral {
		p.free = append(p.free, port)
	}
}

// release moves a pair from in use to draining.
func (p *portPool) release() { p.inUse--; p.draining++ }

// put returns a drained pair to the free queue.
func (p *portPool) put(port int) {
	p.draining--
	if !p.ephemeral {
		p.free = append(p.free, port)
	}
}

func (p *portPool) counts() (inUse, draining int) { return p.inUse, p.draining }

// dsock is a dedicated socket (one of a leg's pair). Workers hold a
// reference while they read or send on it, so the fd is never closed (and
// its number reused) under them.
type dsock struct {
	fd         int  // never changes: workers may read it concurrently
	fdClosed   bool // guarded by Engine.mu
	port       int
	pair       int
	kind       int
	leg        *Leg
	worker     *worker
	slot       int
	gen        uint32
	drainUntil int64
	state      atomic.Int32 // reference count; closedBit once released
}

const closedBit = 1 << 30

func (d *dsock) acquire() bool {
	for {
		s := d.state.Load()
		if s&closedBit != 0 {
			return false
		}
		if d.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

func (d *dsock) release() { d.state.Add(-1) }

// markClosed stops new references.
func (d *dsock) markClosed() {
	for {
		s := d.state.Load()
		if d.state.CompareAndSwap(s, s|closedBit) {
			return
		}
	}
}

// tryClose closes the fd when no worker holds it.
func (d *dsock) tryClose() bool {
	if d.state.Load() != closedBit {
		return false
	}
	unix.Close(d.fd)
	d.fdClosed = true
	return true
}

// closeNow closes unconditionally (engine shutdown, workers stopped).
func (d *dsock) closeNow() {
	if !d.fdClosed {
		unix.Close(d.fd)
		d.fdClosed = true
	}
}
