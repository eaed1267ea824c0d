package rtpengine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"go.uber.org/goleak"
)

// freeRange probes for n consecutive free UDP ports on 127.0.0.1 starting
// at an even port (a fixed range is the point of the drain test).
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		base := 20000 + 2*rand.IntN(5000)
		var conns []*net.UDPConn
		ok := true
		for p := base; p < base+n; p++ {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				ok = false
				break
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// A released dedicated port pair is not handed out again until the drain
// period has passed.
func TestDrainPeriodRespected(t *testing.T) {
	cfg := testConfig()
	base := freeRange(t, 4)
	cfg.DedicatedPortMin, cfg.DedicatedPortMax = base, base+3 // two pairs
	cfg.DrainPeriod = 10 * time.Second
	te := startEngine(t, cfg)
	s, _ := te.NewSession("drain")
	a, err := s.NewLeg(LegOptions{Port: PortDedicated})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.NewLeg(LegOptions{Port: PortDedicated})
	if err != nil {
		t.Fatal(err)
	}
	if a.Local().Port != uint16(base) || a.Local().RTCPPort != uint16(base+1) || b.Local().Port != uint16(base+2) {
		t.Fatalf("ports a=%+v b=%+v, want pairs from %d", a.Local(), b.Local(), base)
	}
	if _, err := s.NewLeg(LegOptions{Port: PortDedicated}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("third leg: %v, want ErrNoPorts", err)
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	te.sweep()
	if st := te.Stats(); st.PortsDraining != 2 || st.PortsInUse != 2 {
		t.Fatalf("in use %d draining %d, want 2 and 2", st.PortsInUse, st.PortsDraining)
	}
	te.clock.Advance(cfg.DrainPeriod - time.Second)
	te.sweep()
	if _, err := s.NewLeg(LegOptions{Port: PortDedicated}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("leg during drain: %v, want ErrNoPorts", err)
	}
	te.clock.Advance(time.Second)
	te.sweep()
	c, err := s.NewLeg(LegOptions{Port: PortDedicated})
	if err != nil {
		t.Fatalf("leg after drain: %v", err)
	}
	if c.Local().Port != uint16(base) {
		t.Fatalf("reused port %d, want %d", c.Local().Port, base)
	}
}

// A released shared leg's remote is kept as a draining flow: a late packet
// from it is dropped, not latched to a new leg expecting the same IP.
func TestSharedDrainBlocksLateLatch(t *testing.T) {
	cfg := testConfig()
	cfg.Interfaces[0].SharedPorts = []int{0}
	te := startEngine(t, cfg)
	a, _, pa, _ := call(t, te, LegOptions{}, LegOptions{})
	pa.sendRTP(a.Local().RTP(), 1, 1)
	waitFor(t, "first packet", func() bool { return a.Stats().PacketsIn == 1 })
	if err := a.Session().Close(); err != nil {
		t.Fatal(err)
	}
	s2, _ := te.NewSession("next")
	n, _ := s2.NewLeg(LegOptions{})
	if err := n.SetRemote(netip.AddrPortFrom(pa.addr().Addr(), 4000), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	pa.sendRTP(a.Local().RTP(), 1, 2)
	waitFor(t, "draining drop", func() bool { return te.Stats().Drops[DropDraining] == 1 })
	if n.Stats().Latched {
		t.Fatal("new leg latched a late packet of the released call")
	}
	te.clock.Advance(cfg.DrainPeriod)
	te.sweep()
	pa.sendRTP(a.Local().RTP(), 1, 3)
	waitFor(t, "latch after drain", func() bool { return n.Stats().Latched })
}

func TestMediaTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  Direction
		want bool
	}{
		{"sendrecv fires", SendRecv, true},
		{"sendonly (hold) does not fire", SendOnly, false},
		{"inactive does not fire", Inactive, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := startEngine(t, testConfig())
			a, b, pa, pb := call(t, te, LegOptions{}, LegOptions{})
			pa.sendRTP(a.Local().RTP(), 1, 1)
			pb.expectRTP(b.Local().RTP(), 1)
			pb.sendRTP(b.Local().RTP(), 1, 2)
			pa.expectRTP(a.Local().RTP(), 2)
			a.SetDirection(tc.dir)
			te.clock.Advance(te.cfg.MediaTimeout - time.Second)
			te.sweep()
			if a.Stats().TimedOut || b.Stats().TimedOut {
				t.Fatal("timed out before the media timeout")
			}
			te.clock.Advance(2 * time.Second)
			te.sweep()
			got := a.Stats().TimedOut
			if got != tc.want {
				t.Fatalf("timed out = %v, want %v", got, tc.want)
			}
			if tc.want {
				ev := nextEvent(t, te.events, EventMediaTimeout)
				if ev.Session != a.Session() {
					t.Fatalf("event for session %v", ev.Session)
				}
			} else {
				select {
				case ev := <-te.events:
					if ev.Type == EventMediaTimeout {
						t.Fatalf("media timeout on hold: %+v", ev)
					}
				default:
				}
			}
		})
	}
}

// Receiver reports from a party (built with pion/rtcp) show up as loss,
// jitter and, when they echo a sender report we forwarded, round-trip time.
func TestRTCPReceiverReportStats(t *testing.T) {
	te := startEngine(t, testConfig())
	a, b, pa, pb := call(t, te, LegOptions{}, LegOptions{})
	aRTCP, bRTCP := newParty(t, "127.0.0.1"), newParty(t, "127.0.0.1")
	if err := a.SetRemote(pa.addr(), aRTCP.addr()); err != nil {
		t.Fatal(err)
	}
	if err := b.SetRemote(pb.addr(), bRTCP.addr()); err != nil {
		t.Fatal(err)
	}
	// Party A sends a sender report; it reaches B through the relay.
	ntp := uint64(0x1234_5678_9abc_def0)
	sr := &rtcp.SenderReport{SSRC: 1, NTPTime: ntp, RTPTime: 160, PacketCount: 10, OctetCount: 1600}
	raw, err := sr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	aRTCP.sendRaw(a.Local().RTCP(), raw)
	got, from, ok := bRTCP.recv(2 * time.Second)
	if !ok || from != b.Local().RTCP() {
		t.Fatalf("SR not relayed to B's RTCP port (ok=%v from=%s)", ok, from)
	}
	if pkts, err := rtcp.Unmarshal(got); err != nil || len(pkts) != 1 {
		t.Fatalf("relayed SR: %v", err)
	}
	// B answers 80 ms later with a receiver report echoing the SR, having
	// held it for 30 ms (DLSR in 1/65536 s): RTT = 80 - 30 = 50 ms.
	te.clock.Advance(80 * time.Millisecond)
	rr := &rtcp.ReceiverReport{SSRC: 2, Reports: []rtcp.ReceptionReport{{
		SSRC: 1, FractionLost: 64, TotalLost: 12, LastSequenceNumber: 1000, Jitter: 160,
		LastSenderReport: uint32(ntp >> 16), Delay: 30 * 65536 / 1000,
	}}}
	raw, err = rr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bRTCP.sendRaw(b.Local().RTCP(), raw)
	if _, from, ok := aRTCP.recv(2 * time.Second); !ok || from != a.Local().RTCP() {
		t.Fatalf("RR not relayed to A (ok=%v from=%s)", ok, from)
	}
	waitFor(t, "report", func() bool { return b.Stats().RTCP.Reports == 1 })
	st := b.Stats().RTCP
	if st.FractionLost != 0.25 || st.CumulativeLost != 12 || st.JitterUnits != 160 || st.Jitter != 20*time.Millisecond {
		t.Fatalf("rtcp stats %+v, want 25%% loss, 12 lost, jitter 160 units = 20ms", st)
	}
	if d := st.RTT - 50*time.Millisecond; d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("RTT %s, want 50ms", st.RTT)
	}
}

// Releasing 10k sessions leaves no leg, flow, socket or goroutine behind.
// Most legs are shared (as trunks are); dedicated pairs go in waves to stay
// under the open-files cap.
func TestRelease10kSessionsLeavesNothing(t *testing.T) {
	defer goleak.VerifyNone(t)
	fds0 := openFDs(t)
	cfg := testConfig()
	cfg.DrainPeriod = time.Second
	clock := newFakeClock()
	e, err := New(cfg, WithClock(clock.Now), WithSweepInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	const total, wave = 10000, 1000
	for start := 0; start < total; start += wave {
		var sessions []*Session
		for i := start; i < start+wave; i++ {
			s, err := e.NewSession(fmt.Sprintf("s%d", i))
			if err != nil {
				t.Fatal(err)
			}
			kind := PortShared
			if i%10 == 0 {
				kind = PortDedicated
			}
			a, err := s.NewLeg(LegOptions{Port: kind})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.NewLeg(LegOptions{AvoidShared: a})
			if err != nil {
				t.Fatal(err)
			}
			ip := netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)})
			if err := a.SetRemote(netip.AddrPortFrom(ip, 4000), netip.AddrPort{}); err != nil {
				t.Fatal(err)
			}
			if err := b.SetRemote(netip.AddrPortFrom(ip, 5000), netip.AddrPort{}); err != nil {
				t.Fatal(err)
			}
			if err := a.Link(b); err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, s)
		}
		for _, s := range sessions {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(cfg.DrainPeriod)
		e.sweep()
	}
	st := e.Stats()
	if st.Sessions != 0 || st.Legs != 0 || st.Flows != 0 || st.PortsInUse != 0 || st.PortsDraining != 0 {
		t.Fatalf("after release: %+v", st)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != fds0 {
		t.Fatalf("open files %d after Close, %d before", n, fds0)
	}
}

func TestEngineCloseReleasesEverything(t *testing.T) {
	defer goleak.VerifyNone(t)
	fds0 := openFDs(t)
	e, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.NewSession("x")
	if _, err := s.NewLeg(LegOptions{Port: PortDedicated}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.NewSession("y"); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewSession after Close: %v", err)
	}
	if n := openFDs(t); n != fds0 {
		t.Fatalf("open files %d after Close, %d before", n, fds0)
	}
}

// A full event sink never blocks a worker: the event is dropped and counted.
func TestFullEventSinkDropsAndCounts(t *testing.T) {
	cfg := testConfig()
	e, err := New(cfg, WithEvents(make(chan Event))) // nobody reads
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	te := &testEngine{Engine: e}
	a, b, pa, pb := call(t, te, LegOptions{}, LegOptions{})
	pa.sendRTP(a.Local().RTP(), 1, 1)
	pb.expectRTP(b.Local().RTP(), 1)
	waitFor(t, "dropped event", func() bool { return e.Stats().EventsDropped == 1 })
}

func TestMaxSessions(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSessions = 2
	te := startEngine(t, cfg)
	for i := 0; i < 2; i++ {
		if _, err := te.NewSession("s"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := te.NewSession("s"); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third session: %v, want ErrTooMany", err)
	}
}

// Old-style hold (c=0.0.0.0): nothing goes to the held party, its own
// packets (music on hold) still reach the other side, and the same
// address again resumes media.
func TestHoldWithZeroAddress(t *testing.T) {
	te := startEngine(t, testConfig())
	a, b, pa, pb := call(t, te, LegOptions{}, LegOptions{})
	if err := a.SetRemote(netip.MustParseAddrPort("0.0.0.0:4000"), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	pa.sendRTP(a.Local().RTP(), 1, 1) // music on hold from A
	pb.expectRTP(b.Local().RTP(), 1)
	pb.sendRTP(b.Local().RTP(), 2, 2)
	waitFor(t, "no-destination drop", func() bool { return a.Stats().Drops[DropNoDestination] == 1 })
	pa.expectNothing(30 * time.Millisecond)
	if err := a.SetRemote(pa.addr(), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	pb.sendRTP(b.Local().RTP(), 2, 3)
	pa.expectRTP(a.Local().RTP(), 3)
}
