package rtpengine

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// forwardBench sets up n linked shared-port call pairs and a private worker
// (not running) whose receive batch is filled with one packet from each of
// batch different callers, as recvmmsg would leave it.
type forwardBench struct {
	te     *testEngine
	w      *worker
	n      int
	local  uint32
	legs   []*Leg
	caller []netip.AddrPort
}

func newForwardBench(tb testing.TB, calls int) *forwardBench {
	cfg := testConfig()
	cfg.Interfaces[0].SharedPorts = []int{0}
	cfg.Workers = 1
	te := startEngine(tb, cfg)
	fb := &forwardBench{te: te}
	for i := 0; i < calls; i++ {
		s, err := te.NewSession("bench")
		if err != nil {
			tb.Fatal(err)
		}
		a, _ := s.NewLeg(LegOptions{})
		b, _ := s.NewLeg(LegOptions{})
		ca := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 2, byte(i >> 8), byte(i)}), 4000)
		cb := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 3, byte(i >> 8), byte(i)}), 4000)
		if err := a.SetRemote(ca, netip.AddrPort{}); err != nil {
			tb.Fatal(err)
		}
		if err := b.SetRemote(cb, netip.AddrPort{}); err != nil {
			tb.Fatal(err)
		}
		if err := a.Link(b); err != nil {
			tb.Fatal(err)
		}
		// Mark them latched as after their first packets.
		a.st[streamRTP].confirmed.Store(true)
		b.st[streamRTP].confirmed.Store(true)
		fb.legs = append(fb.legs, a)
		fb.caller = append(fb.caller, ca)
	}
	w, err := newWorker(te.Engine, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.epf.Close() })
	w.sharedFD = te.workers[0].sharedFD
	w.nowNs = time.Now().UnixNano()
	fb.w = w
	fb.local = uint32(fb.legs[0].sharedIdx * 2)
	return fb
}

// fill puts batch RTP packets from callers start.. into the receive slots.
func (fb *forwardBench) fill(start int) int {
	w := fb.w
	n := len(w.rmsgs)
	for i := 0; i < n; i++ {
		c := fb.caller[(start+i)%len(fb.caller)]
		r, _, _ := encodeRaw(c, true)
		w.rnames[i] = r
		pkt := w.bufs[i*bufSize : i*bufSize+172]
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		w.rmsgs[i].Len = 172
		w.rmsgs[i].Hdr.Flags = 0
	}
	return n
}

// BenchmarkForward measures the forward step for a batch: flow lookup,
// peer and destination, counters, and queueing into the send batch; no
// syscalls. One op is one packet.
func BenchmarkForward(b *testing.B) {
	fb := newForwardBench(b, 1000)
	n := fb.fill(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		fb.w.process(0, n, fb.local, streamRTP, nil)
		fb.w.nsend = 0
	}
	b.StopTimer()
	if fb.legs[0].Stats().PacketsIn == 0 {
		b.Fatal("nothing forwarded")
	}
}

// TestForwardStepAllocatesNothing keeps the benchmark's 0 allocs/op honest
// in the normal test run.
func TestForwardStepAllocatesNothing(t *testing.T) {
	fb := newForwardBench(t, 200)
	n := fb.fill(0)
	allocs := testing.AllocsPerRun(100, func() {
		fb.w.process(0, n, fb.local, streamRTP, nil)
		fb.w.nsend = 0
	})
	if allocs != 0 {
		t.Fatalf("forward step allocates %.1f times per batch", allocs)
	}
	if got := fb.legs[0].Stats().PacketsOut; got != 0 {
		t.Fatalf("caller leg counted %d out", got)
	}
	if got := fb.legs[0].Peer().Stats().Drops; got != [NumDropReasons]uint64{} {
		t.Fatalf("drops %v", got)
	}
}

// BenchmarkRelayLoopback pushes batches through a running engine over real
// loopback sockets (sendmmsg in, recvmmsg out), one batch in flight at a
// time (so wake pacing is off: it would only add its interval to every
// round trip); one op is one packet relayed. Allocations count the whole
// process, workers included.
func BenchmarkRelayLoopback(b *testing.B) {
	cfg := testConfig()
	cfg.Workers = 1
	cfg.WakeCoalesce = 0
	te := startEngine(b, cfg)
	s, _ := te.NewSession("loop")
	a, _ := s.NewLeg(LegOptions{})
	bl, _ := s.NewLeg(LegOptions{AvoidShared: a})
	src, dst := rawParty(b), rawParty(b)
	if err := a.SetRemote(src.ap, netip.AddrPort{}); err != nil {
		b.Fatal(err)
	}
	if err := bl.SetRemote(dst.ap, netip.AddrPort{}); err != nil {
		b.Fatal(err)
	}
	if err := a.Link(bl); err != nil {
		b.Fatal(err)
	}
	const batch = 32
	to, _, _ := encodeRaw(a.Local().RTP(), true)
	msgs := make([]unix.Mmsghdr, batch)
	iov := make([]unix.Iovec, batch)
	bufs := make([][2048]byte, batch)
	for i := range msgs {
		bufs[i][0] = 0x80
		iov[i].Base = &bufs[i][0]
		iov[i].SetLen(172)
		msgs[i].Hdr.Iov = &iov[i]
		msgs[i].Hdr.SetIovlen(1)
		msgs[i].Hdr.Name = &to[0]
		msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
	}
	rmsgs := make([]unix.Mmsghdr, batch)
	riov := make([]unix.Iovec, batch)
	for i := range rmsgs {
		riov[i].Base = &bufs[i][0]
		riov[i].SetLen(2048)
		rmsgs[i].Hdr.Iov = &riov[i]
		rmsgs[i].Hdr.SetIovlen(1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		for i := range msgs {
			iov[i].SetLen(172)
		}
		if n, e := sendmmsg(src.fd, msgs); e != 0 || n != batch {
			b.Fatalf("send: %d %v", n, e)
		}
		for got := 0; got < batch; {
			n, e := recvmmsgBlocking(dst.fd, rmsgs[got:])
			if e != 0 {
				b.Fatalf("recv: %v", e)
			}
			got += n
		}
	}
}

type rawP struct {
	fd int
	ap netip.AddrPort
}

func rawParty(tb testing.TB) rawP {
	fd, port, err := udpSocket(netip.MustParseAddr("127.0.0.1"), 0, false, 4<<20, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	return rawP{fd: fd, ap: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))}
}

func recvmmsgBlocking(fd int, msgs []unix.Mmsghdr) (int, unix.Errno) {
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_WAITFORONE, 0, 0)
	return int(n), e
}
