package rtpengine

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	streamRTP  = 0
	streamRTCP = 1
)

// Endpoint is a leg's local media address as it goes into SDP.
type Endpoint struct {
	IP       netip.Addr
	Port     uint16
	RTCPPort uint16
}

// RTP returns the RTP address.
func (e Endpoint) RTP() netip.AddrPort { return netip.AddrPortFrom(e.IP, e.Port) }

// RTCP returns the RTCP address.
func (e Endpoint) RTCP() netip.AddrPort { return netip.AddrPortFrom(e.IP, e.RTCPPort) }

// Direction is an SDP direction attribute (RFC 3264 §5.1); anything but
// sendrecv puts the leg on hold as far as media timeouts go.
type Direction uint8

// Directions.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "unknown"
}

// ParseDirection parses an SDP direction attribute name.
func ParseDirection(s string) (Direction, error) {
	if d, ok := direction(s); ok {
		return d, nil
	}
	return 0, fmt.Errorf("direction %q: %w", s, ErrBadDirection)
}

// direction is ParseDirection without the error, which would cost an
// allocation for each of the many attributes that are not a direction.
func direction(name string) (Direction, bool) {
	switch name {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return 0, false
}

// remote is an immutable destination: published with one atomic store so a
// worker never sees half an address.
type remote struct {
	ap     netip.AddrPort
	key    flowKey // local 0: for comparing sources on dedicated sockets
	raw    rawAddr
	rawLen uint32
}

func newRemote(ap netip.AddrPort, v4 bool) (*remote, error) {
	raw, n, err := encodeRaw(ap, v4)
	if err != nil {
		return nil, err
	}
	return &remote{ap: ap, key: keyOf(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), 0), raw: raw, rawLen: n}, nil
}

// stream is the RTP or the RTCP half of a leg. The fields a packet needs
// come first.
type stream struct {
	remote    atomic.Pointer[remote] // where packets for this party go
	hold      atomic.Bool            // SDP said 0.0.0.0 / port 0: send nothing
	confirmed atomic.Bool            // a packet came from remote (latched)
	sdp       atomic.Pointer[remote] // what SDP said
	firstSeen atomic.Int64           // learning window start (delayed, heuristic)
	cand      atomic.Pointer[remote] // best source seen in the window
	candRank  atomic.Int32
	flow      *flow // shared legs: the published flow (guarded by e.mu)
}

// Leg is one SIP leg's media endpoint.
type Leg struct {
	// What every packet reads, together on the first cache lines: the
	// forwarding table lookup is followed by a handful of cache misses at
	// most (the leg, its peer, the peer's destination).
	peer      atomic.Pointer[Leg]
	dedicated bool
	sharedIdx int
	ds        [2]*dsock
	// Receive side, written by the worker that reads this leg's party.
	pktsIn  atomic.Uint64
	bytesIn atomic.Uint64
	lastIn  atomic.Int64
	st      [2]stream
	// Send side, written by the worker that reads the peer's party: on its
	// own cache line so two workers do not share one.
	_        [64]byte
	pktsOut  atomic.Uint64
	bytesOut atomic.Uint64
	_        [48]byte
	drops    [NumDropReasons]atomic.Uint64

	e        *Engine
	sess     *Session
	id       uint64
	label    string
	ifc      *iface
	local    Endpoint
	mode     LatchMode
	strict   bool
	dir      atomic.Uint32
	released atomic.Bool

	armedAt   atomic.Int64 // media timeout counts from here when no packet came yet
	timedOut  atomic.Bool
	clockRate atomic.Uint32

	// RTCP: what this leg's party reports about the stream it receives.
	lastSRMid  atomic.Uint32 // middle NTP bits of the last SR forwarded to the party
	lastSRAt   atomic.Int64
	rrCount    atomic.Uint64
	rrFraction atomic.Uint32
	rrCumLost  atomic.Int64
	rrJitter   atomic.Uint32
	rtt        atomic.Int64

	mu     sync.Mutex // SDP origin state
	origin Origin
}

// ID is unique within the engine.
func (l *Leg) ID() uint64 { return l.id }

// Label is LegOptions.Label.
func (l *Leg) Label() string { return l.label }

// Session returns the leg's session.
func (l *Leg) Session() *Session { return l.sess }

// Dedicated reports whether the leg has its own port pair.
func (l *Leg) Dedicated() bool { return l.dedicated }

// Local is the address to put in SDP for this leg. It never changes for the
// leg's life, so it stays the same across re-INVITEs.
func (l *Leg) Local() Endpoint { return l.local }

// Peer returns the linked leg or nil.
func (l *Leg) Peer() *Leg { return l.peer.Load() }

// SetClockRate sets the RTP clock rate used to turn RTCP jitter into time
// (8000 for G.711, the default).
func (l *Leg) SetClockRate(hz uint32) {
	if hz > 0 {
		l.clockRate.Store(hz)
	}
}

// SetRemote sets where the leg's party receives media, from its SDP. An
// unspecified IP or port 0 means not known yet, or on hold (RFC 3264 §8.4,
// the old c=0.0.0.0 hold): nothing is sent to it, but its own packets are
// still recognised and relayed; setting its address again resumes. A zero rtcp means the RTP
// port plus one (RFC 3550 §11). Setting the same address again (a
// re-INVITE that changes nothing) keeps what was latched.
func (l *Leg) SetRemote(rtp, rtcp netip.AddrPort) error {
	if l.released.Load() {
		return fmt.Errorf("set remote: %w", ErrClosed)
	}
	rtp = netip.AddrPortFrom(rtp.Addr().Unmap(), rtp.Port())
	known := rtp.Addr().IsValid() && !rtp.Addr().IsUnspecified() && rtp.Port() != 0
	if known && rtp.Addr().Is4() != l.ifc.v4 {
		return fmt.Errorf("set remote %s on interface %s: %w", rtp, l.ifc.name, ErrFamily)
	}
	if known && rtp.Addr().Is4() && rtp.Addr().IsMulticast() {
		return fmt.Errorf("set remote %s: %w", rtp, ErrBadAddress)
	}
	if known {
		if !rtcp.IsValid() || rtcp.Port() == 0 {
			p := uint32(rtp.Port()) + 1
			if p > 65535 {
				p = 65535
			}
			rtcp = netip.AddrPortFrom(rtp.Addr(), uint16(p))
		} else if rtcp.Addr().IsUnspecified() {
			rtcp = netip.AddrPortFrom(rtp.Addr(), rtcp.Port())
		}
		rtcp = netip.AddrPortFrom(rtcp.Addr().Unmap(), rtcp.Port())
		if rtcp.Addr().Is4() != l.ifc.v4 {
			return fmt.Errorf("set remote rtcp %s: %w", rtcp, ErrFamily)
		}
	}
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	addrs := [2]netip.AddrPort{rtp, rtcp}
	for kind := 0; kind < 2; kind++ {
		if err := l.setStream(kind, addrs[kind], known); err != nil {
			return err
		}
	}
	l.armedAt.Store(e.nowNanos())
	l.timedOut.Store(false)
	return nil
}

// setStream updates one stream. Caller holds e.mu.
func (l *Leg) setStream(kind int, ap netip.AddrPort, known bool) error {
	e := l.e
	st := &l.st[kind]
	old := st.sdp.Load()
	if !known {
		// Not known yet, or hold the old way (c=0.0.0.0, RFC 3264 §8.4):
		// send the party nothing, but keep recognising its packets (a
		// holding party may still send, e.g. music on hold).
		st.hold.Store(old != nil || st.remote.Load() != nil)
		return nil
	}
	st.hold.Store(false)
	if old != nil && old.ap == ap {
		return nil // same address again (a re-INVITE): keep what was latched
	}
	r, err := newRemote(ap, l.ifc.v4)
	if err != nil {
		return fmt.Errorf("set remote: %w", err)
	}
	if !l.dedicated {
		local := uint32(l.sharedIdx*2 + kind)
		k := keyOf(ap, local)
		if f := e.flows.lookup(&k); f != nil && f.drainUntil == 0 && f.leg != l {
			return fmt.Errorf("set remote %s: %w", ap, ErrAddressInUse)
		}
		l.unpublish(kind)
		f := &flow{key: k, leg: l, kind: kind}
		if err := e.flows.put(f); err != nil {
			return fmt.Errorf("set remote %s: %w", ap, err)
		}
		st.flow = f
		e.setWaiting(waitKey(ap.Addr(), local), l, true)
	}
	st.sdp.Store(r)
	st.remote.Store(r)
	st.confirmed.Store(false)
	st.firstSeen.Store(0)
	st.cand.Store(nil)
	st.candRank.Store(0)
	return nil
}

// unpublish removes a shared stream's flow and waiting entry. Caller holds e.mu.
func (l *Leg) unpublish(kind int) {
	st := &l.st[kind]
	if l.dedicated || st.flow == nil {
		return
	}
	e := l.e
	local := uint32(l.sharedIdx*2 + kind)
	e.flows.remove(st.flow.key, st.flow)
	if sdp := st.sdp.Load(); sdp != nil {
		e.setWaiting(waitKey(sdp.ap.Addr(), local), l, false)
	}
	st.flow = nil
}

// Remote returns where RTP and RTCP for the leg's party currently go (the
// SDP address or what was latched); zero values when unknown.
func (l *Leg) Remote() (rtp, rtcp netip.AddrPort) {
	if r := l.st[streamRTP].remote.Load(); r != nil {
		rtp = r.ap
	}
	if r := l.st[streamRTCP].remote.Load(); r != nil {
		rtcp = r.ap
	}
	return rtp, rtcp
}

// SetDirection records the leg's SDP direction. Packets flow regardless
// (the endpoints enforce direction); a leg or peer not in sendrecv is on
// hold and gets the hold timeout instead of the media timeout.
func (l *Leg) SetDirection(d Direction) {
	if d > Inactive {
		d = SendRecv
	}
	l.dir.Store(uint32(d))
	l.armedAt.Store(l.e.nowNanos())
	l.timedOut.Store(false)
}

// TimedOut reports whether the leg's media timed out (and has not resumed).
func (l *Leg) TimedOut() bool { return l.timedOut.Load() }

// Direction returns the direction set last.
func (l *Leg) Direction() Direction { return Direction(l.dir.Load()) }

// Link joins two legs so that what one's party sends reaches the other's.
// Linking a pair that is already linked to each other is a no-op.
func (l *Leg) Link(other *Leg) error {
	if other == nil || other == l {
		return ErrSameLeg
	}
	if other.e != l.e {
		return ErrOtherEngine
	}
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if l.released.Load() || other.released.Load() {
		return fmt.Errorf("link: %w", ErrClosed)
	}
	if p := l.peer.Load(); p != nil && p != other {
		return fmt.Errorf("link leg %d: %w", l.id, ErrLinked)
	}
	if p := other.peer.Load(); p != nil && p != l {
		return fmt.Errorf("link leg %d: %w", other.id, ErrLinked)
	}
	now := e.nowNanos()
	l.armedAt.Store(now)
	other.armedAt.Store(now)
	l.peer.Store(other)
	other.peer.Store(l)
	return nil
}

// Unlink separates the leg from its peer (e.g. while the peer's leg is
// re-routed); packets arriving meanwhile are dropped as unlinked.
func (l *Leg) Unlink() {
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	l.unlinkLocked()
}

func (l *Leg) unlinkLocked() {
	if p := l.peer.Load(); p != nil {
		p.peer.CompareAndSwap(l, nil)
		l.peer.Store(nil)
	}
}

// Release unlinks the leg and gives back its endpoint. A dedicated port
// pair (and a shared port's flow for this remote) stays quiet for the drain
// period before it is reused.
func (l *Leg) Release() error {
	if err := l.release(); err != nil {
		return err
	}
	l.sess.forget(l)
	return nil
}

func (l *Leg) release() error {
	if !l.released.CompareAndSwap(false, true) {
		return nil
	}
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	l.unlinkLocked()
	now := e.nowNanos()
	until := now + int64(e.cfg.DrainPeriod)
	delete(e.legs, l)
	if l.dedicated {
		for kind := 0; kind < 2; kind++ {
			ds := l.ds[kind]
			ds.markClosed()
			if !e.closed {
				// Late packets wait in the kernel buffer and are discarded
				// at close; no worker reads this socket again.
				_ = unix.EpollCtl(ds.worker.epfd, unix.EPOLL_CTL_DEL, ds.fd, nil)
			}
			e.dslots[ds.slot].Store(nil)
			ds.drainUntil = until
			e.drainSocks = append(e.drainSocks, ds)
		}
		e.pool.release()
		return nil
	}
	for kind := 0; kind < 2; kind++ {
		st := &l.st[kind]
		if st.flow == nil {
			continue
		}
		local := uint32(l.sharedIdx*2 + kind)
		if sdp := st.sdp.Load(); sdp != nil {
			e.setWaiting(waitKey(sdp.ap.Addr(), local), l, false)
		}
		// Replace the live flow by a draining one for the same source, so a
		// late packet is dropped instead of latched to a new leg.
		d := &flow{key: st.flow.key, kind: kind, drainUntil: until}
		if e.cfg.DrainPeriod > 0 && e.flows.put(d) == nil {
			e.drainFlows = append(e.drainFlows, drainingFlow{f: d, until: until})
		} else {
			e.flows.remove(st.flow.key, st.flow)
		}
		st.flow = nil
	}
	return nil
}

// checkTimeout fires EventMediaTimeout once for a linked leg that received
// nothing for the media (or hold) timeout.
func (l *Leg) checkTimeout(now int64) {
	peer := l.peer.Load()
	if peer == nil || l.released.Load() || l.st[streamRTP].remote.Load() == nil && !l.dedicated {
		return
	}
	limit := l.e.cfg.MediaTimeout
	if Direction(l.dir.Load()) != SendRecv || Direction(peer.dir.Load()) != SendRecv {
		limit = l.e.cfg.HoldTimeout
		if limit == 0 {
			return
		}
	}
	last := l.lastIn.Load()
	if a := l.armedAt.Load(); a > last {
		last = a
	}
	if now-last < int64(limit) {
		if l.timedOut.Load() {
			l.timedOut.Store(false)
		}
		return
	}
	if l.timedOut.CompareAndSwap(false, true) {
		l.e.emit(Event{Type: EventMediaTimeout, Session: l.sess, Leg: l, At: time.Unix(0, now)})
	}
}

// RTCPStats is what the leg's party said in its receiver reports about the
// stream it receives through us (RFC 3550 §6.4.1).
type RTCPStats struct {
	Reports uint64
	// FractionLost is the loss since the previous report, 0..1.
	FractionLost   float64
	CumulativeLost int64
	// Jitter is the interarrival jitter, in time (JitterUnits / clock rate).
	Jitter      time.Duration
	JitterUnits uint32
	// RTT is the round trip between us and the party, from the LSR/DLSR of
	// a report that echoes a sender report we forwarded; 0 until known.
	RTT time.Duration
}

// LegStats is a per-leg snapshot.
type LegStats struct {
	Local      Endpoint
	Remote     netip.AddrPort
	RemoteRTCP netip.AddrPort
	Latched    bool
	Dedicated  bool
	Linked     bool
	Direction  Direction
	TimedOut   bool
	PacketsIn  uint64
	BytesIn    uint64
	PacketsOut uint64
	BytesOut   uint64
	Drops      [NumDropReasons]uint64
	LastPacket time.Time // zero if none yet
	RTCP       RTCPStats
}

// Stats returns a snapshot of the leg's counters.
func (l *Leg) Stats() LegStats {
	s := LegStats{
		Local:      l.local,
		Latched:    l.st[streamRTP].confirmed.Load(),
		Dedicated:  l.dedicated,
		Linked:     l.peer.Load() != nil,
		Direction:  Direction(l.dir.Load()),
		TimedOut:   l.timedOut.Load(),
		PacketsIn:  l.pktsIn.Load(),
		BytesIn:    l.bytesIn.Load(),
		PacketsOut: l.pktsOut.Load(),
		BytesOut:   l.bytesOut.Load(),
	}
	s.Remote, s.RemoteRTCP = l.Remote()
	for r := range s.Drops {
		s.Drops[r] = l.drops[r].Load()
	}
	if t := l.lastIn.Load(); t != 0 {
		s.LastPacket = time.Unix(0, t)
	}
	s.RTCP.Reports = l.rrCount.Load()
	s.RTCP.FractionLost = float64(l.rrFraction.Load()) / 256
	s.RTCP.CumulativeLost = l.rrCumLost.Load()
	s.RTCP.JitterUnits = l.rrJitter.Load()
	if hz := l.clockRate.Load(); hz > 0 {
		s.RTCP.Jitter = time.Duration(uint64(s.RTCP.JitterUnits) * uint64(time.Second) / uint64(hz))
	}
	s.RTCP.RTT = time.Duration(l.rtt.Load())
	return s
}

// RewriteSDP rewrites an SDP body that goes to this leg's party so that
// its media points at the leg's local endpoint (see RewriteSDP). The o=
// line is the leg's own and its version rises whenever the body changes.
func (l *Leg) RewriteSDP(body []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return RewriteSDP(body, l.local, &l.origin)
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
