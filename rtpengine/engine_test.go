package rtpengine

import (
	"net/netip"
	"testing"
)

// call sets up two linked legs of one session with a party on each side.
func call(t *testing.T, te *testEngine, optsA, optsB LegOptions) (a, b *Leg, pa, pb *party) {
	t.Helper()
	s, err := te.NewSession("call-1")
	if err != nil {
		t.Fatal(err)
	}
	a, err = s.NewLeg(optsA)
	if err != nil {
		t.Fatal(err)
	}
	optsB.AvoidShared = a
	b, err = s.NewLeg(optsB)
	if err != nil {
		t.Fatal(err)
	}
	pa, pb = newParty(t, "127.0.0.1"), newParty(t, "127.0.0.1")
	if err := a.SetRemote(pa.addr(), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetRemote(pb.addr(), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Link(b); err != nil {
		t.Fatal(err)
	}
	return a, b, pa, pb
}

func TestLinkedLegsForwardBothWays(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b PortKind
	}{
		{"shared-shared", PortShared, PortShared},
		{"shared-dedicated", PortShared, PortDedicated},
		{"dedicated-dedicated", PortDedicated, PortDedicated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := startEngine(t, testConfig())
			a, b, pa, pb := call(t, te, LegOptions{Port: tc.a, Latching: LatchOff}, LegOptions{Port: tc.b, Latching: LatchOff})
			for i := uint32(1); i <= 5; i++ {
				pa.sendRTP(a.Local().RTP(), 1, i)
				pb.expectRTP(b.Local().RTP(), i)
				pb.sendRTP(b.Local().RTP(), 2, 100+i)
				pa.expectRTP(a.Local().RTP(), 100+i)
			}
			// Counters are updated right after sendmmsg returns, which can be
			// just after the party got the packet.
			waitFor(t, "counters", func() bool { return a.Stats().PacketsOut == 5 && b.Stats().PacketsOut == 5 })
			sa, sb := a.Stats(), b.Stats()
			if sa.PacketsIn != 5 || sa.PacketsOut != 5 || sb.PacketsIn != 5 || sb.PacketsOut != 5 {
				t.Fatalf("stats a=%+v b=%+v, want 5 in and 5 out each", sa, sb)
			}
			if sa.BytesIn != 5*172 || sb.BytesOut != 5*172 {
				t.Fatalf("bytes a.in=%d b.out=%d, want %d", sa.BytesIn, sb.BytesOut, 5*172)
			}
			if st := te.Stats(); st.PacketsForwarded != 10 {
				t.Fatalf("engine forwarded %d, want 10", st.PacketsForwarded)
			}
		})
	}
}
