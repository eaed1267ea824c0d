package rtpengine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Option configures an Engine.
type Option func(*Engine) error

// WithLogger sets the logger (nil discards).
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) error {
		if l != nil {
			e.log = l
		}
		return nil
	}
}

// WithClock injects the clock (tests use a fake one). It is read once per
// received batch, never per packet.
func WithClock(now func() time.Time) Option {
	return func(e *Engine) error {
		if now == nil {
			return errors.New("rtpengine: WithClock: nil clock")
		}
		e.now = now
		return nil
	}
}

// WithEvents sets the event sink. Workers never block on it: when the
// channel is full the event is dropped and counted (Stats().EventsDropped),
// so give it a buffer sized for bursts (e.g. 1024).
func WithEvents(ch chan<- Event) Option {
	return func(e *Engine) error {
		e.events = ch
		return nil
	}
}

// WithSweepInterval sets how often timeouts, drains and learning windows
// are checked (default 250ms).
func WithSweepInterval(d time.Duration) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return fmt.Errorf("rtpengine: WithSweepInterval: must be positive (got %s)", d)
		}
		e.sweepEvery = d
		return nil
	}
}

// Engine is the media plane: it owns every media socket, the forwarding
// table and the workers that move packets.
type Engine struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	events     chan<- Event
	sweepEvery time.Duration
	seed       uint64

	ifaces  []*iface
	shared  []*sharedPort
	flows   *flowTable
	waiting *flowTable // (ip, port 0, local) -> the one leg expecting that IP; leg nil = several

	workers []*worker
	wakeFD  int
	wg      sync.WaitGroup
	stop    chan struct{}

	dslots []atomic.Pointer[dsock]

	mu          sync.Mutex // control path; never taken per packet
	closed      bool
	sessions    map[*Session]struct{}
	legs        map[*Leg]struct{}
	waitLegs    map[flowKey][]*Leg
	freeSlots   []int
	slotGen     uint32
	pool        *portPool
	drainFlows  []drainingFlow
	drainSocks  []*dsock
	nextWorker  int
	nextLegID   uint64
	sweepLegs   []*Leg // housekeeper only
	eventsDrops atomic.Uint64
}

type iface struct {
	name   string
	bind   netip.Addr
	adv    netip.Addr
	v4     bool
	shared []int // indices into Engine.shared
	rr     atomic.Uint32
}

// sharedPort is one shared RTP port and its RTCP port, bound once per worker.
type sharedPort struct {
	ifc     *iface
	port    [2]int   // local RTP and RTCP port
	fds     [2][]int // receiving sockets, one per worker
	sendFDs [2][]int // send-only sockets, one per worker
}

type drainingFlow struct {
	f     *flow
	until int64
}

// New opens every shared socket, starts the workers and the housekeeper.
func New(cfg Config, opts ...Option) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rtpengine config: %w", err)
	}
	e := &Engine{
		cfg:        cfg,
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:        time.Now,
		sweepEvery: 250 * time.Millisecond,
		seed:       new(maphash.Hash).Sum64(),
		sessions:   map[*Session]struct{}{},
		legs:       map[*Leg]struct{}{},
		waitLegs:   map[flowKey][]*Leg{},
		stop:       make(chan struct{}),
		wakeFD:     -1,
	}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	e.pool = newPortPool(cfg.DedicatedPortMin, cfg.DedicatedPortMax)
	maxFlows := 1 << 22
	e.flows = newFlowTable(e.seed, maxFlows)
	e.waiting = newFlowTable(e.seed^0x5bd1e995, maxFlows)
	nslots := e.pool.capacity()*2 + 16
	if nslots > 1<<17 || nslots < 16 {
		nslots = 1 << 17
	}
	e.dslots = make([]atomic.Pointer[dsock], nslots)
	for i := nslots - 1; i >= 0; i-- {
		e.freeSlots = append(e.freeSlots, i)
	}
	if err := e.open(); err != nil {
		e.closeFDs()
		return nil, err
	}
	for _, w := range e.workers {
		e.wg.Add(1)
		go w.run()
	}
	e.wg.Add(1)
	go e.housekeep()
	e.log.Info("media engine started", "workers", len(e.workers), "shared_ports", len(e.shared),
		"dedicated_min", cfg.DedicatedPortMin, "dedicated_max", cfg.DedicatedPortMax)
	return e, nil
}

func (e *Engine) open() error {
	nw := e.cfg.workers()
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	e.wakeFD = fd
	for i := 0; i < nw; i++ {
		w, err := newWorker(e, i)
		if err != nil {
			return err
		}
		e.workers = append(e.workers, w)
	}
	for _, ic := range e.cfg.Interfaces {
		bind, _ := netip.ParseAddr(ic.BindIP)
		adv := bind
		if ic.AdvertisedIP != "" {
			adv, _ = netip.ParseAddr(ic.AdvertisedIP)
		}
		ifc := &iface{name: ic.Name, bind: bind.Unmap(), adv: adv.Unmap(), v4: bind.Unmap().Is4()}
		e.ifaces = append(e.ifaces, ifc)
		for _, p := range ic.SharedPorts {
			sp := &sharedPort{ifc: ifc}
			ports := [2]int{p, 0}
			if p != 0 {
				ports[1] = p + 1
			}
			for kind := 0; kind < 2; kind++ {
				// One receiving socket per worker, then one send-only socket
				// per worker on the same port (see steerProgram).
				for wi := 0; wi < 2*nw; wi++ {
					port := ports[kind]
					if wi > 0 {
						port = sp.port[kind]
					}
					rcv, snd := e.cfg.RecvBufferBytes, 0
					if wi >= nw {
						rcv, snd = 0, e.cfg.SendBufferBytes
					}
					fd, bound, err := udpSocket(ifc.bind, port, true, rcv, snd)
					if err != nil {
						return fmt.Errorf("shared port on %s: %w", ic.Name, err)
					}
					sp.port[kind] = bound
					if wi < nw {
						sp.fds[kind] = append(sp.fds[kind], fd)
					} else {
						setDontFragment(fd, ifc.v4)
						sp.sendFDs[kind] = append(sp.sendFDs[kind], fd)
					}
					if wi == 0 {
						if err := attachSteering(fd, ifc.v4, nw); err != nil {
							return fmt.Errorf("shared port %d on %s: %w", bound, ic.Name, err)
						}
					}
				}
			}
			idx := len(e.shared)
			e.shared = append(e.shared, sp)
			ifc.shared = append(ifc.shared, idx)
			for wi, w := range e.workers {
				w.sharedFD = append(w.sharedFD, [2]int{sp.sendFDs[0][wi], sp.sendFDs[1][wi]})
				for kind := 0; kind < 2; kind++ {
					if err := w.watch(sp.fds[kind][wi], tagShared, int32(idx*2+kind), 0); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, w := range e.workers {
		if err := w.watch(e.wakeFD, tagWake, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the workers and closes every socket; sessions still open are
// released first. It waits for every goroutine it started.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	sessions := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		sessions = append(sessions, s)
	}
	e.mu.Unlock()
	for _, s := range sessions {
		s.Close()
	}
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	close(e.stop)
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	if _, err := unix.Write(e.wakeFD, one[:]); err != nil {
		e.log.Error("wake workers", "err", err)
	}
	e.wg.Wait()
	e.closeFDs()
	e.log.Info("media engine stopped")
	return nil
}

func (e *Engine) closeFDs() {
	for _, sp := range e.shared {
		for kind := 0; kind < 2; kind++ {
			for _, fd := range sp.fds[kind] {
				unix.Close(fd)
			}
			for _, fd := range sp.sendFDs[kind] {
				unix.Close(fd)
			}
		}
	}
	e.shared = nil
	e.mu.Lock()
	for i := range e.dslots {
		if ds := e.dslots[i].Load(); ds != nil {
			ds.closeNow()
			e.dslots[i].Store(nil)
		}
	}
	for _, ds := range e.drainSocks {
		ds.closeNow()
	}
	e.drainSocks = nil
	e.mu.Unlock()
	for _, w := range e.workers {
		if w.epf != nil {
			w.epf.Close()
			w.epf = nil
			w.epfd = -1
		}
	}
	if e.wakeFD >= 0 {
		unix.Close(e.wakeFD)
		e.wakeFD = -1
	}
}

// nowNanos reads the injected clock.
func (e *Engine) nowNanos() int64 { return e.now().UnixNano() }

// emit hands an event to the sink without ever blocking a worker.
func (e *Engine) emit(ev Event) {
	if e.events == nil {
		return
	}
	select {
	case e.events <- ev:
	default:
		e.eventsDrops.Add(1)
	}
}

func (e *Engine) housekeep() {
	defer e.wg.Done()
	t := time.NewTicker(e.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.sweep()
		}
	}
}

// sweep runs the timers: media timeouts, the end of drain periods and
// closing of released sockets. It is the only place time passes for
// anything but packets, so tests drive it with a fake clock.
func (e *Engine) sweep() {
	now := e.nowNanos()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	// Shared flows of released legs.
	kept := e.drainFlows[:0]
	for _, d := range e.drainFlows {
		if now >= d.until {
			e.flows.remove(d.f.key, d.f)
		} else {
			kept = append(kept, d)
		}
	}
	clear(e.drainFlows[len(kept):])
	e.drainFlows = kept
	// Dedicated sockets: closed once no worker holds them; the port pair goes
	// back to the pool only after the drain period.
	ks := e.drainSocks[:0]
	for _, ds := range e.drainSocks {
		if !ds.fdClosed && ds.tryClose() {
			e.freeSlots = append(e.freeSlots, ds.slot)
		}
		if ds.fdClosed && now >= ds.drainUntil {
			if ds.kind == streamRTP {
				e.pool.put(ds.pair)
			}
			continue
		}
		ks = append(ks, ds)
	}
	clear(e.drainSocks[len(ks):])
	e.drainSocks = ks
	// The slice is reused: the housekeeper makes no garbage in steady state
	// (a collection would take the CPU from the workers).
	legs := e.sweepLegs[:0]
	for l := range e.legs {
		legs = append(legs, l)
	}
	e.mu.Unlock()
	for _, l := range legs {
		l.checkTimeout(now)
	}
	clear(legs)
	e.sweepLegs = legs[:0]
}

// Stats is an engine-wide snapshot for metrics.
type Stats struct {
	PacketsReceived  uint64
	BytesReceived    uint64
	PacketsForwarded uint64
	BytesForwarded   uint64
	// Drops counts dropped packets by reason (index with a DropReason).
	Drops         [NumDropReasons]uint64
	Sessions      int
	Legs          int
	DedicatedLegs int
	// PortsInUse counts dedicated ports (RTP and RTCP) held by legs;
	// PortsDraining those released but not yet reusable.
	PortsInUse    int
	PortsDraining int
	SharedPorts   int
	Flows         int
	EventsDropped uint64
	Workers       int
}

// Stats returns a snapshot of the engine's counters.
func (e *Engine) Stats() Stats {
	var s Stats
	for _, w := range e.workers {
		s.PacketsReceived += w.c.pktsIn.Load()
		s.BytesReceived += w.c.bytesIn.Load()
		s.PacketsForwarded += w.c.pktsOut.Load()
		s.BytesForwarded += w.c.bytesOut.Load()
		for r := range s.Drops {
			s.Drops[r] += w.c.drops[r].Load()
		}
	}
	s.EventsDropped = e.eventsDrops.Load()
	s.Workers = len(e.workers)
	e.mu.Lock()
	s.Sessions = len(e.sessions)
	s.Legs = len(e.legs)
	for l := range e.legs {
		if l.dedicated {
			s.DedicatedLegs++
		}
	}
	s.SharedPorts = len(e.shared)
	inUse, draining := e.pool.counts()
	s.PortsInUse, s.PortsDraining = inUse*2, draining*2
	e.mu.Unlock()
	s.Flows = e.flows.len()
	return s
}

// NewSession creates the media session of one call. id names it in events
// and logs (the SIP Call-ID or the CallSid).
func (e *Engine) NewSession(id string) (*Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if e.cfg.MaxSessions > 0 && len(e.sessions) >= e.cfg.MaxSessions {
		return nil, fmt.Errorf("new session %q: %w (%d)", id, ErrTooMany, e.cfg.MaxSessions)
	}
	s := &Session{e: e, id: id, created: e.now()}
	e.sessions[s] = struct{}{}
	return s, nil
}

// Interfaces returns the configured interface names in order.
func (e *Engine) Interfaces() []string {
	out := make([]string, len(e.ifaces))
	for i, ifc := range e.ifaces {
		out[i] = ifc.name
	}
	return out
}

func (e *Engine) iface(name string) (*iface, error) {
	if name == "" {
		return e.ifaces[0], nil
	}
	for _, ifc := range e.ifaces {
		if ifc.name == name {
			return ifc, nil
		}
	}
	return nil, fmt.Errorf("interface %q: %w", name, ErrNoInterface)
}

// waitKey is the key of the latching index: an IP on a local shared socket.
func waitKey(ip netip.Addr, local uint32) flowKey {
	return flowKey{ip: ip.As16(), local: local}
}

// setWaiting adds (on) or removes l as a leg expecting ip on local and
// republishes the index entry. Caller holds e.mu.
func (e *Engine) setWaiting(k flowKey, l *Leg, on bool) {
	list := e.waitLegs[k]
	for i, x := range list {
		if x == l {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if on {
		list = append(list, l)
	}
	switch len(list) {
	case 0:
		delete(e.waitLegs, k)
		e.waiting.remove(k, nil)
		return
	case 1:
		_ = e.waiting.put(&flow{key: k, leg: list[0]})
	default:
		_ = e.waiting.put(&flow{key: k}) // ambiguous: never latch
	}
	e.waitLegs[k] = list
}
