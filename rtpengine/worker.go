package rtpengine

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Epoll tags, kept in the event's Pad field.
const (
	tagShared    = 1
	tagDedicated = 2
	tagWake      = 3
)

// bufSize holds any RTP packet of an Ethernet path; larger datagrams are
// truncated by the kernel (MSG_TRUNC) and dropped as malformed.
const bufSize = 2048

// batchesPerWake bounds the batches read from one socket per epoll round so
// that one busy socket cannot starve the others (level-triggered epoll
// brings it back).
const batchesPerWake = 4

// workerCounters are written by one worker only and summed by Stats.
type workerCounters struct {
	pktsIn   atomic.Uint64
	bytesIn  atomic.Uint64
	pktsOut  atomic.Uint64
	bytesOut atomic.Uint64
	drops    [NumDropReasons]atomic.Uint64
	_        [64]byte
}

// worker is one forwarding loop: epoll over its shared sockets and its
// share of the dedicated sockets; recvmmsg a batch, look up, sendmmsg.
// All buffers are allocated once.
type worker struct {
	e        *Engine
	id       int
	epfd     int
	epf      *os.File // epfd, registered with Go's netpoller
	rc       syscall.RawConn
	sharedFD [][2]int // send-only socket per shared port and kind
	evs      []unix.EpollEvent

	rmsgs  []unix.Mmsghdr
	riov   []unix.Iovec
	rnames []rawAddr
	bufs   []byte

	smsgs  []unix.Mmsghdr
	siov   []unix.Iovec
	snames []rawAddr
	sfd    []int32
	sds    []*dsock
	speer  []*Leg
	sdone  []bool
	nsend  int
	used   int // receive slots holding packets not yet sent
	gmsgs  []unix.Mmsghdr
	gidx   []int
	rtcp   rtcpInfo
	c      workerCounters
	nowNs  int64
}

func newWorker(e *Engine, id int) (*worker, error) {
	b := e.cfg.BatchSize
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create: %w", err)
	}
	// The worker's epoll fd is itself pollable: handing it to Go's netpoller
	// lets the worker goroutine park while idle instead of blocking a thread
	// in epoll_wait (which makes the runtime hand its P off and back on
	// every wake, measured at a fifth of the CPU at 100k packets/s).
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll nonblock: %w", err)
	}
	epf := os.NewFile(uintptr(epfd), "rtpengine-epoll")
	rc, err := epf.SyscallConn()
	if err != nil {
		epf.Close()
		return nil, fmt.Errorf("epoll raw conn: %w", err)
	}
	w := &worker{
		e: e, id: id, epfd: epfd, epf: epf, rc: rc,
		evs:    make([]unix.EpollEvent, 128),
		rmsgs:  make([]unix.Mmsghdr, b),
		riov:   make([]unix.Iovec, b),
		rnames: make([]rawAddr, b),
		bufs:   make([]byte, b*bufSize),
		smsgs:  make([]unix.Mmsghdr, b),
		siov:   make([]unix.Iovec, b),
		snames: make([]rawAddr, b),
		sfd:    make([]int32, b),
		sds:    make([]*dsock, b),
		speer:  make([]*Leg, b),
		sdone:  make([]bool, b),
		gmsgs:  make([]unix.Mmsghdr, b),
		gidx:   make([]int, b),
	}
	for i := 0; i < b; i++ {
		w.riov[i].Base = &w.bufs[i*bufSize]
		w.riov[i].SetLen(bufSize)
		w.rmsgs[i].Hdr.Iov = &w.riov[i]
		w.rmsgs[i].Hdr.SetIovlen(1)
		w.rmsgs[i].Hdr.Name = &w.rnames[i][0]
		w.smsgs[i].Hdr.Iov = &w.siov[i]
		w.smsgs[i].Hdr.SetIovlen(1)
		w.smsgs[i].Hdr.Name = &w.snames[i][0]
	}
	return w, nil
}

func (w *worker) watch(fd int, tag int32, idx int32, gen uint32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: idx, Pad: tag | int32(gen<<8)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add fd %d: %w", fd, err)
	}
	return nil
}

func (w *worker) run() {
	defer w.e.wg.Done()
	coalesce := int64(w.e.cfg.WakeCoalesce)
	var lastWake int64
	var n int
	var errno unix.Errno
	ready := func(fd uintptr) bool {
		n, errno = epollWait0(int(fd), w.evs)
		return n > 0 || (errno != 0 && errno != unix.EINTR && errno != unix.EAGAIN)
	}
	for {
		if err := w.rc.Read(ready); err != nil {
			w.e.log.Error("worker poll failed; worker stops", "worker", w.id, "err", err)
			return
		}
		if errno != 0 {
			w.e.log.Error("epoll_wait failed; worker stops", "worker", w.id, "err", errno)
			return
		}
		if coalesce > 0 && !w.wakePending(n) {
			// Under load (woken again soon after the last round) sleep out
			// the rest of the interval so the next read gets a full batch;
			// at light load this never triggers and adds no latency. The
			// raw nanosleep keeps the P: the sleep is short and bounded,
			// and a scheduler hand-off would cost more than it saves.
			now := monoNanos()
			if since := now - lastWake; since < coalesce {
				ts := unix.NsecToTimespec(coalesce - since)
				unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
				now += coalesce - since
				// Pick up what arrived during the sleep in this round too.
				if m, e := epollWait0(w.epfd, w.evs[n:]); e == 0 {
					n = w.dedupe(n, m)
				}
			}
			lastWake = now
		}
		for i := 0; i < n; i++ {
			ev := &w.evs[i]
			switch ev.Pad & 0xff {
			case tagWake:
				return
			case tagShared:
				idx := int(ev.Fd)
				w.serve(w.e.shared[idx/2].fds[idx%2][w.id], uint32(idx), idx%2, nil)
			case tagDedicated:
				ds := w.e.dslots[ev.Fd].Load()
				if ds == nil || ds.gen != uint32(ev.Pad)>>8 || !ds.acquire() {
					continue
				}
				w.serve(ds.fd, 0, ds.kind, ds)
				ds.release()
			}
		}
		w.flush()
	}
}

// dedupe drops events of the second poll (at n..n+m) already in the first.
func (w *worker) dedupe(n, m int) int {
	out := n
	for j := n; j < n+m; j++ {
		dup := false
		for i := 0; i < n; i++ {
			if w.evs[i].Fd == w.evs[j].Fd && w.evs[i].Pad == w.evs[j].Pad {
				dup = true
				break
			}
		}
		if !dup {
			w.evs[out] = w.evs[j]
			out++
		}
	}
	return out
}

// epollWait0 polls without blocking.
func epollWait0(epfd int, evs []unix.EpollEvent) (int, unix.Errno) {
	if len(evs) == 0 {
		return 0, 0
	}
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

var monoBase = time.Now()

// monoNanos is a monotonic reading for the wake pacing (not the injected
// clock: pacing is about real CPU time, not about call timers).
func monoNanos() int64 { return int64(time.Since(monoBase)) }

// wakePending reports whether the engine is shutting down (no sleeping then).
func (w *worker) wakePending(n int) bool {
	for i := 0; i < n; i++ {
		if w.evs[i].Pad&0xff == tagWake {
			return true
		}
	}
	return false
}

// serve reads up to batchesPerWake batches from one socket and queues them
// for sending. Reads fill the free receive slots, so the packets of several
// sockets read in one epoll round go out together: one sendmmsg per
// destination socket per round (run flushes at the end of the round, or
// earlier when the slots are full).
func (w *worker) serve(fd int, local uint32, kind int, ds *dsock) {
	for round := 0; round < batchesPerWake; round++ {
		if w.used == len(w.rmsgs) {
			w.flush()
		}
		free := len(w.rmsgs) - w.used
		n := w.recv(fd, w.used)
		if n <= 0 {
			return
		}
		w.nowNs = w.e.nowNanos()
		w.process(w.used, n, local, kind, ds)
		w.used += n
		if n < free {
			return
		}
	}
}

// recv reads into the receive slots from start on.
func (w *worker) recv(fd int, start int) int {
	msgs := w.rmsgs[start:]
	for i := range msgs {
		msgs[i].Hdr.Namelen = uint32(len(rawAddr{}))
		msgs[i].Hdr.Flags = 0
	}
	n, errno := recvmmsg(fd, msgs)
	if errno != 0 {
		return 0
	}
	return n
}

// process is the forward step: for each received packet in slots
// start..start+n find its leg, its peer and the peer's remote, and queue it
// for sending. No allocation, no lock (except latching, once per flow), no
// syscall.
func (w *worker) process(start, n int, local uint32, kind int, ds *dsock) {
	var bytesIn uint64
	for i := start; i < start+n; i++ {
		m := &w.rmsgs[i]
		size := int(m.Len)
		bytesIn += uint64(size)
		if m.Hdr.Flags&unix.MSG_TRUNC != 0 || size == 0 {
			w.drop(nil, DropMalformed)
			continue
		}
		pkt := w.bufs[i*bufSize : i*bufSize+size]
		src := &w.rnames[i]
		var leg *Leg
		if ds == nil {
			k, ok := src.key(local)
			if !ok {
				w.drop(nil, DropMalformed)
				continue
			}
			f := w.e.flows.lookup(&k)
			if f == nil {
				f = w.e.latchShared(w, &k, kind, src)
				if f == nil {
					continue
				}
			}
			if f.drainUntil != 0 {
				w.drop(nil, DropDraining)
				continue
			}
			leg = f.leg
			if !leg.st[kind].confirmed.Load() {
				w.e.confirmShared(leg, kind, src, w.nowNs)
			}
		} else {
			leg = ds.leg
			if !w.checkSource(leg, kind, src) {
				continue
			}
		}
		w.forward(leg, kind, pkt)
	}
	// Worker-wide counters have one writer: add once per batch.
	w.c.pktsIn.Add(uint64(n))
	w.c.bytesIn.Add(bytesIn)
}

func (w *worker) drop(l *Leg, r DropReason) {
	w.c.drops[r].Add(1)
	if l != nil {
		l.drops[r].Add(1)
	}
}

// forward queues pkt from leg's party toward the peer's party, from the
// peer's local port (the address the peer's party was told in SDP).
func (w *worker) forward(leg *Leg, kind int, pkt []byte) {
	ctl := kind == streamRTCP || isRTCP(pkt)
	if ctl {
		if len(pkt) < 8 || pkt[0]>>6 != 2 {
			w.drop(leg, DropMalformed)
			return
		}
	} else if !isRTP(pkt) {
		w.drop(leg, DropMalformed)
		return
	}
	leg.pktsIn.Add(1)
	leg.bytesIn.Add(uint64(len(pkt)))
	if leg.lastIn.Load() != w.nowNs {
		leg.lastIn.Store(w.nowNs)
	}
	peer := leg.peer.Load()
	if ctl {
		w.readRTCP(leg, peer, pkt)
	}
	if peer == nil {
		w.drop(leg, DropUnlinked)
		return
	}
	pst := &peer.st[kind]
	r := pst.remote.Load()
	if r == nil || pst.hold.Load() {
		w.drop(peer, DropNoDestination)
		return
	}
	j := w.nsend
	w.nsend++
	var fd int
	if peer.dedicated {
		d := peer.ds[kind]
		w.sds[j] = d
		fd = d.fd
	} else {
		w.sds[j] = nil
		fd = w.sharedFD[peer.sharedIdx][kind]
	}
	w.sfd[j] = int32(fd)
	w.speer[j] = peer
	w.sdone[j] = false
	w.snames[j] = r.raw
	w.siov[j].Base = &pkt[0]
	w.siov[j].SetLen(len(pkt))
	h := &w.smsgs[j].Hdr
	h.Namelen = r.rawLen
	w.smsgs[j].Len = 0
}

// readRTCP takes loss, jitter and RTT from the party's reports and notes
// sender reports forwarded to the peer's party for the RTT it will echo.
func (w *worker) readRTCP(leg, peer *Leg, pkt []byte) {
	if !parseRTCP(pkt, &w.rtcp) {
		return
	}
	if w.rtcp.hasReport {
		leg.rrCount.Add(1)
		leg.rrFraction.Store(uint32(w.rtcp.fractionLost))
		leg.rrCumLost.Store(int64(w.rtcp.cumulativeLost))
		leg.rrJitter.Store(w.rtcp.jitter)
		// RFC 3550 §6.4.1: RTT = arrival - LSR - DLSR, with LSR the SR we
		// forwarded to this party; we know when we sent it.
		if lsr := w.rtcp.lsr; lsr != 0 && lsr == leg.lastSRMid.Load() {
			dlsr := int64(w.rtcp.dlsr) * int64(time.Second) / 65536
			if rtt := w.nowNs - leg.lastSRAt.Load() - dlsr; rtt >= 0 {
				leg.rtt.Store(rtt)
			}
		}
	}
	if w.rtcp.hasSR && peer != nil {
		peer.lastSRMid.Store(w.rtcp.srNTPMiddle)
		peer.lastSRAt.Store(w.nowNs)
	}
}

// flush sends the queued packets with one sendmmsg per destination socket.
func (w *worker) flush() {
	n := w.nsend
	w.used = 0
	if n == 0 {
		return
	}
	w.nsend = 0
	for i := 0; i < n; i++ {
		if w.sdone[i] {
			continue
		}
		fd := w.sfd[i]
		g := 0
		for j := i; j < n; j++ {
			if !w.sdone[j] && w.sfd[j] == fd {
				w.gmsgs[g] = w.smsgs[j]
				w.gidx[g] = j
				w.sdone[j] = true
				g++
			}
		}
		ds := w.sds[i]
		if ds != nil && !ds.acquire() {
			for k := 0; k < g; k++ {
				w.drop(w.speer[w.gidx[k]], DropSendError)
			}
			continue
		}
		w.send(int(fd), g)
		if ds != nil {
			ds.release()
		}
	}
	for i := 0; i < n; i++ {
		w.speer[i] = nil
		w.sds[i] = nil
	}
}

func (w *worker) send(fd int, g int) {
	off := 0
	for off < g {
		sent, errno := sendmmsg(fd, w.gmsgs[off:g])
		if errno != 0 {
			// The first message failed (buffer full, or the destination is
			// refused); count it and go on with the rest.
			w.drop(w.speer[w.gidx[off]], DropSendError)
			off++
			continue
		}
		var bytes uint64
		for k := off; k < off+sent; k++ {
			peer := w.speer[w.gidx[k]]
			size := uint64(w.gmsgs[k].Hdr.Iov.Len)
			peer.pktsOut.Add(1)
			peer.bytesOut.Add(size)
			bytes += size
		}
		w.c.pktsOut.Add(uint64(sent))
		w.c.bytesOut.Add(bytes)
		off += sent
	}
}

// checkSource applies the dedicated leg's latching mode to a packet from
// src and says whether to forward it.
func (w *worker) checkSource(leg *Leg, kind int, src *rawAddr) bool {
	st := &leg.st[kind]
	k, ok := src.key(0)
	if !ok {
		w.drop(leg, DropMalformed)
		return false
	}
	r := st.remote.Load()
	if r != nil && r.key == k {
		if !st.confirmed.Load() && st.confirmed.CompareAndSwap(false, true) {
			w.e.emit(Event{Type: EventFirstPacket, Session: leg.sess, Leg: leg, RTCP: kind == streamRTCP, Addr: r.ap, At: time.Unix(0, w.nowNs)})
		}
		return true
	}
	confirmed := st.confirmed.Load()
	switch leg.mode {
	case LatchOff:
		if leg.strict {
			w.drop(leg, DropStrictSource)
			return false
		}
		return true
	case LatchImmediate:
		if confirmed && leg.strict {
			w.drop(leg, DropStrictSource)
			return false
		}
		w.learn(leg, kind, src, !confirmed)
		return true
	}
	// Delayed and heuristic.
	if confirmed {
		if leg.strict {
			w.drop(leg, DropStrictSource)
			return false
		}
		w.learn(leg, kind, src, false)
		return true
	}
	fs := st.firstSeen.Load()
	if fs == 0 {
		fs = w.nowNs
		st.firstSeen.Store(fs)
	}
	rank := int32(1)
	if leg.mode == LatchHeuristic {
		if sdp := st.sdp.Load(); sdp != nil && sdp.key.ip == k.ip {
			rank = 2
		}
	}
	c := st.cand.Load()
	if c == nil || (c.key != k && (leg.mode == LatchDelayed || rank >= st.candRank.Load())) {
		if nr, err := newRemote(src.addrPort(), leg.ifc.v4); err == nil {
			st.cand.Store(nr)
			st.candRank.Store(rank)
			c = nr
		}
	}
	if c != nil && w.nowNs-fs >= int64(w.e.cfg.LatchDelay) {
		st.remote.Store(c)
		st.confirmed.Store(true)
		w.e.emit(Event{Type: EventFirstPacket, Session: leg.sess, Leg: leg, RTCP: kind == streamRTCP, Addr: c.ap, At: time.Unix(0, w.nowNs)})
	}
	return true
}

// learn latches src as the stream's remote (rare: once per change).
func (w *worker) learn(leg *Leg, kind int, src *rawAddr, first bool) {
	nr, err := newRemote(src.addrPort(), leg.ifc.v4)
	if err != nil {
		return
	}
	st := &leg.st[kind]
	st.remote.Store(nr)
	st.confirmed.Store(true)
	t := EventSourceChanged
	if first {
		t = EventFirstPacket
	}
	w.e.emit(Event{Type: t, Session: leg.sess, Leg: leg, RTCP: kind == streamRTCP, Addr: nr.ap, At: time.Unix(0, w.nowNs)})
}

// latchShared handles a packet from an unknown source on a shared socket:
// it is latched to a leg only when exactly one leg on this socket waits for
// that IP (its SDP named the IP but packets come from another port, e.g. a
// port-translating firewall); otherwise it is dropped and counted. Runs
// once per flow, so it may lock.
func (e *Engine) latchShared(w *worker, k *flowKey, kind int, src *rawAddr) *flow {
	wk := flowKey{ip: k.ip, local: k.local}
	wf := e.waiting.lookup(&wk)
	if wf == nil {
		w.drop(nil, DropUnknownSource)
		return nil
	}
	if wf.leg == nil {
		w.drop(nil, DropAmbiguous)
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l := wf.leg
	st := &l.st[kind]
	if l.released.Load() || st.confirmed.Load() || st.flow == nil || l.strict {
		if l.strict {
			w.drop(l, DropStrictSource)
		} else {
			w.drop(nil, DropUnknownSource)
		}
		return nil
	}
	if f := e.flows.lookup(k); f != nil {
		return f // another worker latched it meanwhile
	}
	nr, err := newRemote(src.addrPort(), l.ifc.v4)
	if err != nil {
		w.drop(nil, DropMalformed)
		return nil
	}
	f := &flow{key: *k, leg: l, kind: kind}
	if err := e.flows.put(f); err != nil {
		w.drop(nil, DropUnknownSource)
		return nil
	}
	e.flows.remove(st.flow.key, st.flow)
	st.flow = f
	if sdp := st.sdp.Load(); sdp != nil {
		e.setWaiting(waitKey(sdp.ap.Addr(), k.local), l, false)
	}
	st.remote.Store(nr)
	st.confirmed.Store(true)
	e.emit(Event{Type: EventFirstPacket, Session: l.sess, Leg: l, RTCP: kind == streamRTCP, Addr: nr.ap, At: time.Unix(0, w.nowNs)})
	return f
}

// confirmShared marks a shared stream latched on its first packet from the
// SDP address and takes it out of the latching index.
func (e *Engine) confirmShared(l *Leg, kind int, src *rawAddr, now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := &l.st[kind]
	if st.confirmed.Load() || l.released.Load() {
		return
	}
	st.confirmed.Store(true)
	if sdp := st.sdp.Load(); sdp != nil {
		e.setWaiting(waitKey(sdp.ap.Addr(), uint32(l.sharedIdx*2+kind)), l, false)
	}
	e.emit(Event{Type: EventFirstPacket, Session: l.sess, Leg: l, RTCP: kind == streamRTCP, Addr: src.addrPort(), At: time.Unix(0, now)})
}
