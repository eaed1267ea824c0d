package rtpengine

import (
	"net/netip"
	"testing"
	"time"
)

// A shared leg whose SDP names an IP but whose packets come from another
// port of that IP latches when it is the only leg waiting for that IP.
func TestSharedLatchingOneCandidate(t *testing.T) {
	te := startEngine(t, testConfig())
	s, _ := te.NewSession("c")
	a, _ := s.NewLeg(LegOptions{})
	b, _ := s.NewLeg(LegOptions{AvoidShared: a})
	pa, pb := newParty(t, "127.0.0.1"), newParty(t, "127.0.0.1")
	// The caller's SDP names a port it does not send from (port-translating
	// firewall): only the IP matches.
	sdpPort := netip.AddrPortFrom(pa.addr().Addr(), pa.addr().Port()+1000)
	if err := a.SetRemote(sdpPort, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetRemote(pb.addr(), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Link(b); err != nil {
		t.Fatal(err)
	}
	pa.sendRTP(a.Local().RTP(), 1, 7)
	pb.expectRTP(b.Local().RTP(), 7)
	ev := nextEvent(t, te.events, EventFirstPacket)
	if ev.Leg != a || ev.Addr != pa.addr() {
		t.Fatalf("event %+v, want first packet on leg a from %s", ev, pa.addr())
	}
	if rtp, _ := a.Remote(); rtp != pa.addr() {
		t.Fatalf("leg a sends to %s after latching, want %s", rtp, pa.addr())
	}
	// Media now flows back to the latched address.
	pb.sendRTP(b.Local().RTP(), 2, 8)
	pa.expectRTP(a.Local().RTP(), 8)
}

// With two legs on the same shared port waiting for the same IP, a packet
// from an unknown port of that IP is ambiguous: dropped and counted.
func TestSharedLatchingTwoCandidatesDrops(t *testing.T) {
	cfg := testConfig()
	cfg.Interfaces[0].SharedPorts = []int{0}
	te := startEngine(t, cfg)
	s, _ := te.NewSession("c")
	a1, _ := s.NewLeg(LegOptions{})
	a2, _ := s.NewLeg(LegOptions{})
	b, _ := s.NewLeg(LegOptions{})
	// b's party has its own IP: it must not count as a candidate.
	pa, pb := newParty(t, "127.0.0.1"), newParty(t, "127.0.0.4")
	ip := pa.addr().Addr()
	if err := a1.SetRemote(netip.AddrPortFrom(ip, 20000), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := a2.SetRemote(netip.AddrPortFrom(ip, 20002), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetRemote(pb.addr(), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := a1.Link(b); err != nil {
		t.Fatal(err)
	}
	pa.sendRTP(a1.Local().RTP(), 1, 9)
	waitFor(t, "ambiguous drop", func() bool { return te.Stats().Drops[DropAmbiguous] == 1 })
	pb.expectNothing(50 * time.Millisecond)
	if st := a1.Stats(); st.Latched || st.PacketsIn != 0 {
		t.Fatalf("leg a1 latched=%v in=%d, want nothing", st.Latched, st.PacketsIn)
	}
	// Once one of them goes, the other is the only candidate and latches.
	if err := a2.Release(); err != nil {
		t.Fatal(err)
	}
	pa.sendRTP(a1.Local().RTP(), 1, 10)
	pb.expectRTP(b.Local().RTP(), 10)
}

// A packet from an IP no leg expects is dropped as unknown.
func TestSharedUnknownSourceDropped(t *testing.T) {
	te := startEngine(t, testConfig())
	a, b, _, pb := call(t, te, LegOptions{}, LegOptions{})
	stranger := newParty(t, "127.0.0.3")
	stranger.sendRTP(a.Local().RTP(), 5, 1)
	waitFor(t, "unknown-source drop", func() bool { return te.Stats().Drops[DropUnknownSource] == 1 })
	pb.expectNothing(50 * time.Millisecond)
	_ = b
}

// Strict source on a dedicated leg: after latching, a packet from another
// source (a spoofer that learned the port) is dropped, not forwarded, and
// the learned address does not move.
func TestStrictSourceDropsSpoofedSource(t *testing.T) {
	te := startEngine(t, testConfig())
	a, b, pa, pb := call(t, te, LegOptions{Port: PortDedicated, Latching: LatchImmediate, Strict: StrictOn}, LegOptions{})
	pa.sendRTP(a.Local().RTP(), 1, 1)
	pb.expectRTP(b.Local().RTP(), 1)
	spoofer := newParty(t, "127.0.0.1")
	spoofer.sendRTP(a.Local().RTP(), 1, 2)
	waitFor(t, "strict-source drop", func() bool { return a.Stats().Drops[DropStrictSource] == 1 })
	pb.expectNothing(50 * time.Millisecond)
	if rtp, _ := a.Remote(); rtp != pa.addr() {
		t.Fatalf("remote moved to %s, want %s", rtp, pa.addr())
	}
	// The same spoofed packet without strict source would have re-latched.
	a2, b2, pa2, pb2 := call(t, te, LegOptions{Port: PortDedicated, Latching: LatchImmediate, Strict: StrictOff}, LegOptions{})
	pa2.sendRTP(a2.Local().RTP(), 1, 1)
	pb2.expectRTP(b2.Local().RTP(), 1)
	spoofer.sendRTP(a2.Local().RTP(), 1, 3)
	pb2.expectRTP(b2.Local().RTP(), 3)
	ev := nextEvent(t, te.events, EventSourceChanged)
	if ev.Leg != a2 || ev.Addr != spoofer.addr() {
		t.Fatalf("event %+v, want source change of a2 to %s", ev, spoofer.addr())
	}
}

// A client behind NAT: its SDP names a private address it cannot be
// reached at; a dedicated leg learns the real source from the first packet
// (immediate) or after the learning window (delayed, heuristic).
func TestDedicatedNATLatching(t *testing.T) {
	for _, mode := range []LatchMode{LatchImmediate, LatchDelayed, LatchHeuristic} {
		t.Run(string(mode), func(t *testing.T) {
			te := startEngine(t, testConfig())
			s, _ := te.NewSession("nat")
			a, err := s.NewLeg(LegOptions{Port: PortDedicated, Latching: mode})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := s.NewLeg(LegOptions{})
			pa, pb := newParty(t, "127.0.0.1"), newParty(t, "127.0.0.1")
			// The SDP address: nothing listens there (the NAT's inside).
			private := netip.MustParseAddrPort("127.0.0.2:9")
			if err := a.SetRemote(private, netip.AddrPort{}); err != nil {
				t.Fatal(err)
			}
			if err := b.SetRemote(pb.addr(), netip.AddrPort{}); err != nil {
				t.Fatal(err)
			}
			if err := a.Link(b); err != nil {
				t.Fatal(err)
			}
			pa.sendRTP(a.Local().RTP(), 1, 1)
			pb.expectRTP(b.Local().RTP(), 1)
			if mode != LatchImmediate {
				// Inside the learning window media still goes to the SDP
				// address.
				if rtp, _ := a.Remote(); rtp != private {
					t.Fatalf("%s: learned %s before the window closed", mode, rtp)
				}
				te.clock.Advance(te.cfg.LatchDelay)
				pa.sendRTP(a.Local().RTP(), 1, 2)
				pb.expectRTP(b.Local().RTP(), 2)
			}
			ev := nextEvent(t, te.events, EventFirstPacket)
			if ev.Leg != a || ev.Addr != pa.addr() {
				t.Fatalf("event %+v, want leg a latched to %s", ev, pa.addr())
			}
			pb.sendRTP(b.Local().RTP(), 2, 50)
			pa.expectRTP(a.Local().RTP(), 50)
		})
	}
}

// Latching off sends only to the SDP address and ignores the source.
func TestDedicatedLatchingOff(t *testing.T) {
	te := startEngine(t, testConfig())
	a, b, pa, pb := call(t, te, LegOptions{Port: PortDedicated, Latching: LatchOff}, LegOptions{})
	other := newParty(t, "127.0.0.1")
	other.sendRTP(a.Local().RTP(), 1, 1) // accepted (not strict), not learned
	pb.expectRTP(b.Local().RTP(), 1)
	pb.sendRTP(b.Local().RTP(), 2, 2)
	pa.expectRTP(a.Local().RTP(), 2)
	other.expectNothing(30 * time.Millisecond)
}
