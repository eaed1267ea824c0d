package rtpengine

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Session is the media of one call: the legs allocated for it. Closing it
// releases every leg.
type Session struct {
	e       *Engine
	id      string
	created time.Time

	mu     sync.Mutex
	legs   []*Leg
	closed bool
}

// ID is the id given to NewSession.
func (s *Session) ID() string { return s.id }

// Created is when the session was made.
func (s *Session) Created() time.Time { return s.created }

// Engine returns the engine the session belongs to.
func (s *Session) Engine() *Engine { return s.e }

// Legs returns the session's live legs.
func (s *Session) Legs() []*Leg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Leg(nil), s.legs...)
}

// PortKind selects how a leg's packets reach the engine.
type PortKind uint8

const (
	// PortShared puts the leg on a shared port: the fast path, for peers
	// whose SDP address is where their packets come from (trunks).
	PortShared PortKind = iota
	// PortDedicated gives the leg its own port pair: for peers behind NAT
	// whose real source is only known from their first packet.
	PortDedicated
)

// Strictness overrides the configured strict-source setting per leg.
type Strictness uint8

// Strictness values.
const (
	StrictDefault Strictness = iota
	StrictOn
	StrictOff
)

// LegOptions choose the leg's port and learning behaviour.
type LegOptions struct {
	// Label names the leg in logs (e.g. "caller", a SIP tag).
	Label string
	// Interface is the interface name; "" is the first configured.
	Interface string
	Port      PortKind
	// Latching applies to dedicated legs; "" means the configured default.
	// Shared legs always latch only when exactly one leg waits for the IP.
	Latching LatchMode
	Strict   Strictness
	// AvoidShared, for a shared leg, asks for a shared port other than this
	// leg's (so two legs of one call never share a port and a source).
	AvoidShared *Leg
}

// NewLeg allocates a local endpoint for one SIP leg.
func (s *Session) NewLeg(o LegOptions) (*Leg, error) {
	e := s.e
	ifc, err := e.iface(o.Interface)
	if err != nil {
		return nil, err
	}
	mode := o.Latching
	if mode == "" {
		mode = e.cfg.Latching
	}
	if !mode.valid() {
		return nil, fmt.Errorf("new leg: latching %q: invalid mode", mode)
	}
	strict := e.cfg.StrictSource
	switch o.Strict {
	case StrictOn:
		strict = true
	case StrictOff:
		strict = false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("new leg in session %q: %w", s.id, ErrClosed)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	e.nextLegID++
	l := &Leg{e: e, sess: s, id: e.nextLegID, label: o.Label, ifc: ifc, mode: mode, strict: strict}
	l.clockRate.Store(8000)
	l.armedAt.Store(e.nowNanos())
	if o.Port == PortDedicated {
		if err := e.allocDedicated(l); err != nil {
			return nil, fmt.Errorf("new leg in session %q: %w", s.id, err)
		}
	} else {
		n := len(ifc.shared)
		idx := ifc.shared[int(ifc.rr.Add(1))%n]
		if o.AvoidShared != nil && !o.AvoidShared.dedicated && idx == o.AvoidShared.sharedIdx && n > 1 {
			idx = ifc.shared[int(ifc.rr.Add(1))%n]
		}
		l.sharedIdx = idx
		sp := e.shared[idx]
		l.local = Endpoint{IP: ifc.adv, Port: uint16(sp.port[streamRTP]), RTCPPort: uint16(sp.port[streamRTCP])}
	}
	s.legs = append(s.legs, l)
	e.legs[l] = struct{}{}
	return l, nil
}

// Close releases every leg and forgets the session.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	legs := s.legs
	s.legs = nil
	s.mu.Unlock()
	var errs []error
	for _, l := range legs {
		if err := l.release(); err != nil {
			errs = append(errs, err)
		}
	}
	s.e.mu.Lock()
	delete(s.e.sessions, s)
	s.e.mu.Unlock()
	return errors.Join(errs...)
}

func (s *Session) forget(l *Leg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.legs {
		if x == l {
			s.legs = append(s.legs[:i], s.legs[i+1:]...)
			return
		}
	}
}

// allocDedicated binds a port pair for l and gives both sockets to a
// worker. Caller holds e.mu.
func (e *Engine) allocDedicated(l *Leg) error {
	if len(e.freeSlots) < 2 {
		return ErrNoPorts
	}
	var fds [2]int
	var ports [2]int
	var base int
	ok := false
	for attempt := 0; attempt < 64; attempt++ {
		b, got := e.pool.get()
		if !got {
			break
		}
		fd0, p0, err := udpSocket(l.ifc.bind, b, false, e.cfg.DedicatedBufferBytes, 0)
		if err != nil {
			e.pool.unusable(b)
			continue
		}
		rtcpPort := 0
		if b != 0 {
			rtcpPort = b + 1
		}
		fd1, p1, err := udpSocket(l.ifc.bind, rtcpPort, false, e.cfg.DedicatedBufferBytes, 0)
		if err != nil {
			closeFD(fd0)
			e.pool.unusable(b)
			continue
		}
		fds, ports, base, ok = [2]int{fd0, fd1}, [2]int{p0, p1}, b, true
		break
	}
	if !ok {
		return ErrNoPorts
	}
	w := e.workers[e.nextWorker%len(e.workers)]
	e.nextWorker++
	l.dedicated = true
	for kind := 0; kind < 2; kind++ {
		slot := e.freeSlots[len(e.freeSlots)-1]
		e.freeSlots = e.freeSlots[:len(e.freeSlots)-1]
		e.slotGen++
		ds := &dsock{fd: fds[kind], port: ports[kind], pair: base, kind: kind, leg: l, worker: w, slot: slot, gen: e.slotGen & 0xffffff}
		l.ds[kind] = ds
		e.dslots[slot].Store(ds)
		if err := w.watch(ds.fd, tagDedicated, int32(slot), ds.gen); err != nil {
			// Unwind: the caller sees the error; sockets are closed now (no
			// worker has seen them).
			for k := 0; k <= kind; k++ {
				e.dslots[l.ds[k].slot].Store(nil)
				e.freeSlots = append(e.freeSlots, l.ds[k].slot)
			}
			closeFD(fds[0])
			closeFD(fds[1])
			e.pool.unusable(base)
			return err
		}
	}
	l.local = Endpoint{IP: l.ifc.adv, Port: uint16(ports[0]), RTCPPort: uint16(ports[1])}
	return nil
}
