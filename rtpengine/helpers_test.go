package rtpengine

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// fakeClock is the injected clock of the tests: time moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Interfaces[0].SharedPorts = []int{0, 0}
	cfg.DedicatedPortMin, cfg.DedicatedPortMax = 0, 0
	cfg.Workers = 2
	cfg.RecvBufferBytes = 1 << 20
	cfg.SendBufferBytes = 1 << 20
	cfg.DrainPeriod = 5 * time.Second
	cfg.MediaTimeout = 30 * time.Second
	cfg.HoldTimeout = 0
	return cfg
}

type testEngine struct {
	*Engine
	clock  *fakeClock
	events chan Event
}

func startEngine(t testing.TB, cfg Config) *testEngine {
	t.Helper()
	clock := newFakeClock()
	events := make(chan Event, 4096)
	e, err := New(cfg, WithClock(clock.Now), WithEvents(events), WithSweepInterval(time.Hour))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testEngine{Engine: e, clock: clock, events: events}
}

// party is a real UDP endpoint standing for a SIP peer's media.
type party struct {
	t    testing.TB
	conn *net.UDPConn
	seq  uint16
}

func newParty(t testing.TB, ip string) *party {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &party{t: t, conn: c}
}

func (p *party) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// sendRTP sends one RTP packet (built with pion/rtp) whose payload carries
// tag, so the receiver can tell which packet arrived.
func (p *party) sendRTP(to netip.AddrPort, ssrc uint32, tag uint32) {
	p.t.Helper()
	p.seq++
	payload := make([]byte, 160)
	binary.BigEndian.PutUint32(payload, tag)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq, Timestamp: uint32(p.seq) * 160, SSRC: ssrc}, Payload: payload}
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatalf("marshal: %v", err)
	}
	p.sendRaw(to, b)
}

func (p *party) sendRaw(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// recv waits up to d for a packet and returns it with its source; ok is
// false on timeout.
func (p *party) recv(d time.Duration) (b []byte, from netip.AddrPort, ok bool) {
	p.t.Helper()
	buf := make([]byte, 2048)
	p.conn.SetReadDeadline(time.Now().Add(d))
	n, from, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, netip.AddrPort{}, false
		}
		p.t.Fatalf("recv: %v", err)
	}
	return buf[:n], from, true
}

// expectRTP waits for an RTP packet carrying tag from the given source.
func (p *party) expectRTP(from netip.AddrPort, tag uint32) {
	p.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, src, ok := p.recv(time.Until(deadline))
		if !ok {
			break
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(b); err != nil || len(pkt.Payload) < 4 {
			continue
		}
		if binary.BigEndian.Uint32(pkt.Payload) == tag {
			if src != from {
				p.t.Fatalf("packet %d came from %s, want %s (the leg's SDP address)", tag, src, from)
			}
			return
		}
	}
	p.t.Fatalf("packet %d not received", tag)
}

// expectNothing asserts that no packet arrives within d.
func (p *party) expectNothing(d time.Duration) {
	p.t.Helper()
	if b, src, ok := p.recv(d); ok {
		p.t.Fatalf("unexpected %d-byte packet from %s", len(b), src)
	}
}

// waitFor polls cond (driven by real packets crossing real sockets).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func nextEvent(t testing.TB, ch <-chan Event, typ EventType) Event {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("read fds: %v", err)
	}
	return len(ents)
}
