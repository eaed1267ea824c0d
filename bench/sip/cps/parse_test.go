package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pcapFile builds a classic little-endian microsecond pcap with an
// Ethernet (Linux lo) header around each IPv4/UDP datagram.
func pcapFile(t *testing.T, pkts []struct {
	at       time.Duration
	src, dst int
	payload  string
}) string {
	t.Helper()
	var b bytes.Buffer
	gh := make([]byte, 24)
	binary.LittleEndian.PutUint32(gh[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(gh[4:], 2)
	binary.LittleEndian.PutUint16(gh[6:], 4)
	binary.LittleEndian.PutUint32(gh[16:], 65535)
	binary.LittleEndian.PutUint32(gh[20:], 1)
	b.Write(gh)
	base := time.Unix(1_800_000_000, 0)
	for _, p := range pkts {
		frame := make([]byte, 14+20+8)
		binary.BigEndian.PutUint16(frame[12:], 0x0800)
		ip := frame[14:]
		ip[0], ip[9] = 0x45, 17
		udp := ip[20:]
		binary.BigEndian.PutUint16(udp[0:], uint16(p.src))
		binary.BigEndian.PutUint16(udp[2:], uint16(p.dst))
		frame = append(frame, p.payload...)
		ts := base.Add(p.at)
		rh := make([]byte, 16)
		binary.LittleEndian.PutUint32(rh[0:], uint32(ts.Unix()))
		binary.LittleEndian.PutUint32(rh[4:], uint32(ts.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rh[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rh[12:], uint32(len(frame)))
		b.Write(rh)
		b.Write(frame)
	}
	path := filepath.Join(t.TempDir(), "c.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sipMsg(start, from, cseq string) string {
	return start + "\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nFrom: <sip:" + from + "@127.0.0.1>;tag=a\r\nCall-ID: x\r\nCSeq: " + cseq + "\r\n\r\n"
}

// TestParseCaptureSetupLatency checks the per-call classification of a
// capture and the added latency: INVITE→200 minus the webhook's time minus
// the part of the callee's answer time inside that window.
func TestParseCaptureSetupLatency(t *testing.T) {
	const uac, sw, uas = 5000, 5060, 5070
	ms := time.Millisecond
	path := pcapFile(t, []struct {
		at       time.Duration
		src, dst int
		payload  string
	}{
		// Call 7 through a B2BUA that answers the caller first.
		{0, uac, sw, sipMsg("INVITE sip:x SIP/2.0", "alice7", "1 INVITE")},
		{500 * ms, uac, sw, sipMsg("INVITE sip:x SIP/2.0", "alice7", "1 INVITE")}, // retransmission: ignored
		{4 * ms, sw, uac, sipMsg("SIP/2.0 200 OK", "alice7", "1 INVITE")},
		{5 * ms, sw, uas, sipMsg("INVITE sip:y SIP/2.0", "alice7", "1 INVITE")},
		{6 * ms, uas, sw, sipMsg("SIP/2.0 200 OK", "alice7", "1 INVITE")},
		{1100 * ms, sw, uac, sipMsg("SIP/2.0 200 OK", "alice7", "2 BYE")}, // a BYE's 200: ignored
		// Call 8 through a proxy: the callee's answer lies inside the window.
		{10 * ms, uac, sw, sipMsg("INVITE sip:x SIP/2.0", "alice8", "1 INVITE")},
		{11 * ms, sw, uas, sipMsg("INVITE sip:y SIP/2.0", "alice8", "1 INVITE")},
		{13 * ms, uas, sw, sipMsg("SIP/2.0 200 OK", "alice8", "1 INVITE")},
		{14 * ms, sw, uac, sipMsg("SIP/2.0 200 OK", "alice8", "1 INVITE")},
		// Call 9 never answered.
		{20 * ms, uac, sw, sipMsg("INVITE sip:x SIP/2.0", "alice9", "1 INVITE")},
	})
	calls, err := parseCapture(path, sw, uac, uas)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		n             int
		setup, callee time.Duration
		answered      bool
	}{
		{7, 4 * ms, 0, true},
		{8, 4 * ms, 2 * ms, true},
		{9, 0, 0, false},
	}
	for _, tt := range tests {
		c := calls[tt.n]
		if c == nil {
			t.Fatalf("call %d not found", tt.n)
		}
		setup, ok := c.setup()
		if ok != tt.answered || setup != tt.setup {
			t.Errorf("call %d: setup %v (%v), want %v (%v)", tt.n, setup, ok, tt.setup, tt.answered)
		}
		if got := c.calleeWait(); got != tt.callee {
			t.Errorf("call %d: callee wait %v, want %v", tt.n, got, tt.callee)
		}
	}
	l := summarise(calls, map[int]time.Duration{7: time.Millisecond})
	if l.matched != 2 {
		t.Fatalf("matched %d calls, want 2", l.matched)
	}
	// Call 7: 4 ms − 1 ms webhook; call 8: 4 ms − 2 ms callee.
	if l.addedP50 != 2 || l.addedP99 != 3 {
		t.Errorf("added p50/p99 %.2f/%.2f ms, want 2/3", l.addedP50, l.addedP99)
	}
}

func TestParseGCTrace(t *testing.T) {
	trace := "tandem: started\n" +
		"gc 1 @0.031s 17%: 0.012+43+0.004 ms clock, 0.012+1.8/11/25+0.004 ms cpu, 15->16->14 MB, 16 MB goal, 0 MB stacks, 0 MB globals, 1 P\n" +
		"gc 2 @12.666s 0%: 2.5+76+0.5 ms clock, 0.5+5.2/19/0+0.5 ms cpu, 68->71->27 MB, 71 MB goal, 3 MB stacks, 0 MB globals, 1 P (forced)\n"
	g := parseGCTrace(trace)
	if g.cycles != 2 {
		t.Fatalf("cycles %d, want 2", g.cycles)
	}
	wantCPU := (0.012 + 1.8 + 11 + 25 + 0.004 + 0.5 + 5.2 + 19 + 0 + 0.5) / 1000
	if d := g.cpu - wantCPU; d > 1e-9 || d < -1e-9 {
		t.Errorf("cpu %.6f s, want %.6f", g.cpu, wantCPU)
	}
	if g.maxSTW != 0.0025 || g.lastLive != 27 || g.lastStacks != 3 {
		t.Errorf("max STW %v, last live %v MB, stacks %v MB; want 0.0025, 27, 3", g.maxSTW, g.lastLive, g.lastStacks)
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (tandem (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 3.25 {
		t.Fatalf("parseStatCPU = %v, %v; want 3.25 s", got, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestPercentileAndCallNumber(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	if p := percentile(xs, 50); p != 5 {
		t.Errorf("p50 %v, want 5", p)
	}
	if p := percentile(xs, 99); p != 10 {
		t.Errorf("p99 %v, want 10", p)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median %v, want 2.5", m)
	}
	for _, tt := range []struct {
		in string
		n  int
		ok bool
	}{
		{"sip:alice123@127.0.0.1:5060", 123, true},
		{"<sip:alice0@h>;tag=1", 0, true},
		{"sip:bob@h", 0, false},
		{"sip:alice@h", 0, false},
	} {
		if n, ok := callNumber([]byte(tt.in)); n != tt.n || ok != tt.ok {
			t.Errorf("callNumber(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.ok)
		}
	}
}
