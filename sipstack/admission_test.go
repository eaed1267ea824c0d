package sipstack

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestRefusedBeforeTheSwitch: malformed or unroutable INVITEs are answered by
// the stack and never reach the handler; each refusal is counted by reason.
func TestRefusedBeforeTheSwitch(t *testing.T) {
	cases := []struct {
		scenario string
		reason   Reason
	}{
		{"uac_expect_400", ReasonBadRequest},       // Content-Length larger than the body
		{"uac_expect_415", ReasonUnsupportedMedia}, // body not application/sdp
		{"uac_expect_420", ReasonBadExtension},     // Require: 100rel
		{"uac_expect_482", ReasonLoop},             // our own Via below SIPp's
		{"uac_expect_483", ReasonTooManyHops},      // Max-Forwards: 0
		{"uac_expect_488", ReasonBadSDP},           // garbage SDP
	}
	var reached atomic.Int32
	s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
		reached.Add(1)
		_ = c.Reject(500, "", nil)
	}))
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			before := s.Stats().Refused[tc.reason.String()]
			res := sippUAC(t, s, tc.scenario, 2)
			if !res.OK() {
				t.Fatalf("sipp: %v", res)
			}
			if got := s.Stats().Refused[tc.reason.String()] - before; got < 2 {
				t.Errorf("refused[%s] grew by %d, want ≥ 2", tc.reason, got)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("handler saw %d refused INVITEs", n)
	}
	if s.Stats().ParseErrors < 2 {
		t.Errorf("truncated bodies not counted as parse errors: %d", s.Stats().ParseErrors)
	}
}

func TestUnknownSourceRejectedOrDropped(t *testing.T) {
	t.Run("reject with 403", func(t *testing.T) {
		cfg := testConfig()
		cfg.InboundTrunks = []InboundTrunk{{Name: "carrier", CIDRs: []string{"192.0.2.0/24"}}}
		s := startStack(t, cfg, WithInviteHandler(func(c *InboundCall) { t.Error("handler reached") }))
		if res := sippUAC(t, s, "uac_expect_403", 2); !res.OK() {
			t.Fatalf("sipp: %v", res)
		}
		if n := s.Stats().Refused["not_trunk"]; n < 2 {
			t.Fatalf("not_trunk = %d", n)
		}
	})
	t.Run("drop silently", func(t *testing.T) {
		cfg := testConfig()
		cfg.InboundTrunks = []InboundTrunk{{Name: "carrier", CIDRs: []string{"192.0.2.0/24"}}}
		cfg.UnknownSource = "drop"
		s := startStack(t, cfg, WithInviteHandler(func(c *InboundCall) { t.Error("handler reached") }))
		c := newRawClient(t, s.Addr("udp").String())
		c.send(c.invite("drop-1", ""))
		c.send(strings.Replace(c.invite("drop-2", ""), "INVITE sip:", "OPTIONS sip:", 1))
		if m := c.recv(300 * time.Millisecond); m != nil {
			t.Fatalf("got an answer in drop mode: %v", m)
		}
		if n := s.Stats().Refused["not_trunk"]; n != 2 {
			t.Fatalf("not_trunk = %d, want 2", n)
		}
	})
}

// fakeClock is a settable clock for admission tests.
type fakeClock struct{ ns atomic.Int64 }

func (f *fakeClock) now() time.Time          { return time.Unix(0, f.ns.Load()) }
func (f *fakeClock) advance(d time.Duration) { f.ns.Add(int64(d)) }

// TestAdmissionLimits: the per-source bucket, the CPS cap and the call cap
// answer 503 with Retry-After and count the reason; the clock is injected so
// the buckets refill only when the test says so.
func TestAdmissionLimits(t *testing.T) {
	cases := []struct {
		name   string
		adm    func(*AdmissionConfig)
		reason string
	}{
		{"per-source rate", func(a *AdmissionConfig) { a.PerSourceRate, a.PerSourceBurst = 1, 2 }, "rate_limited"},
		{"calls per second", func(a *AdmissionConfig) { a.MaxCPS = 20 }, "max_cps"}, // burst 2
		{"concurrent calls", func(a *AdmissionConfig) { a.MaxCalls = 2 }, "max_calls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{}
			clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
			cfg := testConfig()
			cfg.Admission.RetryAfter = 7 * time.Second
			tc.adm(&cfg.Admission)
			var held sync.WaitGroup
			release := make(chan struct{})
			s := startStack(t, cfg, WithClock(clk.now), WithInviteHandler(func(c *InboundCall) {
				held.Add(1)
				defer held.Done()
				_ = c.Progress(180, nil)
				<-release // hold the call (ringing) until the test ends
				_ = c.Reject(480, "", nil)
			}))
			defer held.Wait()
			defer close(release)
			c := newRawClient(t, s.Addr("udp").String())
			codes := make([]int, 0, 3)
			for i := 0; i < 3; i++ {
				id := "adm-" + strconv.Itoa(i)
				c.send(c.invite(id, ""))
				r := c.recvResponse(180, 2*time.Second)
				if r == nil {
					t.Fatalf("INVITE %d: no answer", i)
				}
				codes = append(codes, r.StatusCode)
				if r.StatusCode == 503 {
					if ra := headerOf(r, "Retry-After"); ra != "7" {
						t.Errorf("Retry-After = %q, want 7", ra)
					}
					c.send(c.ack(id, toTag(r), 1))
				}
			}
			if codes[0] != 180 || codes[1] != 180 || codes[2] != 503 {
				t.Fatalf("codes = %v, want [180 180 503]", codes)
			}
			if n := s.Stats().Refused[tc.reason]; n != 1 {
				t.Fatalf("refused[%s] = %d", tc.reason, n)
			}
		})
	}
}

func TestDrainRefusesNewCalls(t *testing.T) {
	s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) { t.Error("handler reached") }))
	s.Drain()
	if res := sippUAC(t, s, "uac_expect_503", 2); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
	if n := s.Stats().Refused["draining"]; n != 2 {
		t.Fatalf("draining = %d", n)
	}
}

func TestOptionsAnswered(t *testing.T) {
	s := startStack(t, testConfig())
	c := newRawClient(t, s.Addr("udp").String())
	c.send("OPTIONS sip:" + s.Addr("udp").String() + " SIP/2.0\n" +
		"Via: SIP/2.0/UDP " + c.addr() + ";branch=z9hG4bK-opt1\n" +
		"From: <sip:probe@" + c.addr() + ">;tag=p1\n" +
		"To: <sip:" + s.Addr("udp").String() + ">\n" +
		"Call-ID: opt-1\nCSeq: 1 OPTIONS\nMax-Forwards: 0\nContent-Length: 0\n\n")
	r := c.recvResponse(200, 2*time.Second)
	if r == nil || r.StatusCode != 200 {
		t.Fatalf("OPTIONS: %v", r)
	}
	if allow := headerOf(r, "Allow"); !strings.Contains(allow, "INVITE") || !strings.Contains(allow, "REFER") {
		t.Fatalf("Allow = %q", allow)
	}
	if headerOf(r, "Accept") != "application/sdp" {
		t.Fatalf("Accept = %q", headerOf(r, "Accept"))
	}
}

func TestUnknownMethodAndOrphanRequests(t *testing.T) {
	s := startStack(t, testConfig())
	c := newRawClient(t, s.Addr("udp").String())
	req := func(method, toTag string) string {
		return method + " sip:x@" + s.Addr("udp").String() + " SIP/2.0\n" +
			"Via: SIP/2.0/UDP " + c.addr() + ";branch=z9hG4bK-" + method + "\n" +
			"From: <sip:probe@" + c.addr() + ">;tag=p1\n" +
			"To: <sip:x@" + s.Addr("udp").String() + ">" + toTag + "\n" +
			"Call-ID: m-" + method + "\nCSeq: 1 " + method + "\nMax-Forwards: 70\nContent-Length: 0\n\n"
	}
	cases := []struct {
		method, toTag string
		code          int
	}{
		{"BYE", ";tag=nope", 481},
		{"SUBSCRIBE", "", 405},
		{"FROBNICATE", "", 501},
		{"REGISTER", "", 405},
	}
	for _, tc := range cases {
		c.send(req(tc.method, tc.toTag))
		r := c.recvResponse(200, 2*time.Second)
		if r == nil || r.StatusCode != tc.code {
			t.Errorf("%s: got %v, want %d", tc.method, r, tc.code)
		}
	}
}

func TestGCRABucket(t *testing.T) {
	g := newGCRA(10, 3) // 10/s, burst 3
	now := int64(1e9)
	got := 0
	for i := 0; i < 10; i++ {
		if g.allow(now) {
			got++
		}
	}
	if got != 3 {
		t.Fatalf("burst admitted %d, want 3", got)
	}
	if g.allow(now + int64(50*time.Millisecond)) {
		t.Fatal("admitted before a token refilled")
	}
	if !g.allow(now + int64(100*time.Millisecond)) {
		t.Fatal("refused after 1/rate")
	}
}

func TestSourceTableIsBounded(t *testing.T) {
	st := newSourceTable(1, 1, 128)
	now := int64(1e9)
	for i := 0; i < 10000; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		st.allow(a, now)
	}
	if n := st.size(); n > 128+sourceShards {
		t.Fatalf("table holds %d sources, bound is about 128", n)
	}
	// A source keeps its (empty) bucket while the table is not under churn.
	a := netip.MustParseAddr("192.0.2.1")
	if !st.allow(a, now) || st.allow(a, now) {
		t.Fatal("per-source bucket not applied")
	}
}

func TestTrunkMatch(t *testing.T) {
	tt, err := newTrunkTable([]InboundTrunk{
		{Name: "a", CIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}},
		{Name: "b", CIDRs: []string{"192.0.2.7"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{"10.1.2.3": "a", "::ffff:10.9.9.9": "a", "2001:db8::1": "a", "192.0.2.7": "b", "192.0.2.8": "", "127.0.0.1": ""} {
		got, _ := tt.match(netip.MustParseAddr(addr))
		if got != want {
			t.Errorf("%s → %q, want %q", addr, got, want)
		}
	}
}

// BenchmarkInviteAdmission measures the per-INVITE checks that run before
// any costly work: loop/Max-Forwards/Require, trunk match, the admission
// buckets and the SDP validation, on an already parsed INVITE.
func BenchmarkInviteAdmission(b *testing.B) {
	cfg := testConfig()
	cfg.Admission.PerSourceRate, cfg.Admission.PerSourceBurst = 1e9, 1000
	cfg.Admission.MaxCPS = 1e9
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	s.ourHost = map[string]bool{"127.0.0.1": true}
	s.ourPort = map[int]bool{5060: true}
	msg := benchMessage()
	m, err := sip.ParseMessage([]byte(msg))
	if err != nil {
		b.Fatal(err)
	}
	req := m.(*sip.Request)
	src := netip.MustParseAddr("127.0.0.2")
	data := []byte(msg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if screenDatagram(data) != datagramOK {
			b.Fatal("screen")
		}
		if code, _ := checkRequest(req, s.ours); code != 0 {
			b.Fatal(code)
		}
		if _, ok := s.trunks.match(src); !ok {
			b.Fatal("trunk")
		}
		if _, ok := s.adm.admit(src, int64(i)*1000); !ok {
			b.Fatal("admit")
		}
		s.adm.done()
		if code, _ := checkOffer(req); code != 0 {
			b.Fatal(code)
		}
	}
}

const benchInvite = `INVITE sip:+15550001111@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bK-bench;rport
From: "Alice" <sip:alice@127.0.0.2:5070>;tag=abc
To: <sip:+15550001111@127.0.0.1:5060>
Call-ID: bench-1@127.0.0.2
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.2:5070>
Max-Forwards: 70
X-Customer-ID: 42
Content-Type: application/sdp
`

// benchMessage is benchInvite with CRLFs, a body and its Content-Length.
func benchMessage() string {
	return strings.ReplaceAll(benchInvite, "\n", "\r\n") + "Content-Length: " + strconv.Itoa(len(testSDP)) + "\r\n\r\n" + testSDP
}
