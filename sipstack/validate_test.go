package sipstack

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestValidateSDP(t *testing.T) {
	good := testSDP
	cases := []struct {
		name string
		sdp  string
		ok   bool
	}{
		{"valid", good, true},
		{"LF only", strings.ReplaceAll(good, "\r\n", "\n"), true},
		{"media-level c=", "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n", true},
		{"empty", "", false},
		{"garbage", "this is not SDP at all", false},
		{"no v=0 first", "o=- 1 1 IN IP4 a\r\nv=0\r\n", false},
		{"version 1", strings.Replace(good, "v=0", "v=1", 1), false},
		{"no m=", "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n", false},
		{"no c=", "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n", false},
		{"port too big", strings.Replace(good, "40000", "70000", 1), false},
		{"port not a number", strings.Replace(good, "40000", "4x000", 1), false},
		{"short o=", strings.Replace(good, "o=- 1 1 IN IP4 127.0.0.1", "o=- 1", 1), false},
		{"bad line", good + "hello\r\n", false},
		{"control char", strings.Replace(good, "s=-", "s=\x01", 1), false},
		{"empty line inside", strings.Replace(good, "s=-\r\n", "s=-\r\n\r\n", 1), false},
		{"too big", good + strings.Repeat("a=x\r\n", 4000), false},
	}
	for _, tc := range cases {
		err := ValidateSDP([]byte(tc.sdp))
		if (err == nil) != tc.ok {
			t.Errorf("%s: ValidateSDP = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadSDP) {
			t.Errorf("%s: error %v does not wrap ErrBadSDP", tc.name, err)
		}
	}
}

func TestSplitURIHeaders(t *testing.T) {
	cases := []struct {
		in, base string
		hs       []Header
		err      error
	}{
		{"sip:bob@example.com", "sip:bob@example.com", nil, nil},
		{"sip:bob@example.com;transport=tcp?X-Account=AC1&User-to-User=ab%3Bencoding%3Dhex", "sip:bob@example.com;transport=tcp",
			[]Header{{"X-Account", "AC1"}, {"User-to-User", "ab;encoding=hex"}}, nil},
		{"sip:bob@example.com?X-Empty=&&X-Name=a%20b", "sip:bob@example.com", []Header{{"X-Empty", ""}, {"X-Name", "a b"}}, nil},
		{"sip:bob@example.com?Call-ID=x", "", nil, ErrHeaderNotAllowed},
		{"sip:bob@example.com?X-A=%0d%0aVia:%20evil", "", nil, ErrHeaderNotAllowed},
		{"sip:bob@example.com?X-A=%zz", "", nil, ErrBadTarget},
		{"sip:bob@example.com?X-A=" + strings.Repeat("b", 1030), "", nil, ErrHeadersTooLong},
	}
	for _, tc := range cases {
		base, hs, err := SplitURIHeaders(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("%.50q: err = %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if base != tc.base || len(hs) != len(tc.hs) {
			t.Errorf("%q: = %q %v", tc.in, base, hs)
			continue
		}
		for i := range hs {
			if hs[i] != tc.hs[i] {
				t.Errorf("%q: header %d = %+v, want %+v", tc.in, i, hs[i], tc.hs[i])
			}
		}
	}
}

func TestScreenDatagram(t *testing.T) {
	msg := func(cl string, body string) []byte {
		return []byte("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n" + cl + "\r\n\r\n" + body)
	}
	cases := []struct {
		name string
		data []byte
		want datagramVerdict
	}{
		{"exact", msg("Content-Length: 4", "abcd"), datagramOK},
		{"compact form", msg("l: 4", "abcd"), datagramOK},
		{"longer body is legal over UDP", msg("Content-Length: 2", "abcd"), datagramOK},
		{"no Content-Length", msg("X-A: b", "abcd"), datagramOK},
		{"truncated", msg("Content-Length: 10", "abcd"), datagramTruncated},
		{"not a number", msg("Content-Length: ten", "abcd"), datagramBadLength},
		{"repeated", msg("Content-Length: 4\r\nContent-Length: 4", "abcd"), datagramBadLength},
		{"no header end", []byte("INVITE sip:a@b SIP/2.0\r\nContent-Length: 99"), datagramOK},
		{"keepalive", []byte("\r\n\r\n"), datagramOK},
	}
	for _, tc := range cases {
		if got := screenDatagram(tc.data); got != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestConfigValidateNamesKeys(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	cases := []struct {
		mutate func(*Config)
		key    string
	}{
		{func(c *Config) { c.Listen = nil }, "listen: "},
		{func(c *Config) { c.Listen[0].Transport = "sctp" }, "listen[0].transport: "},
		{func(c *Config) { c.Listen[1].Address = "nope" }, "listen[1].address: "},
		{func(c *Config) { c.Listen[0].Address = "0.0.0.0:5060" }, "listen[0].address: "},
		{func(c *Config) { c.Listen[0].Sockets = 100 }, "listen[0].sockets: "},
		{func(c *Config) { c.UnknownSource = "maybe" }, "unknown_source: "},
		{func(c *Config) { c.InboundTrunks = []InboundTrunk{{Name: "a", CIDRs: []string{"10.0.0.0/33"}}} }, "inbound_trunks[0].cidrs[0]: "},
		{func(c *Config) { c.InboundTrunks = []InboundTrunk{{Name: "", CIDRs: []string{"10.0.0.1"}}} }, "inbound_trunks[0].name: "},
		{func(c *Config) { c.OutboundTrunks = []OutboundTrunk{{Name: "a", URI: "sips:x"}} }, "outbound_trunks[0].uri: "},
		{func(c *Config) {
			c.OutboundTrunks = []OutboundTrunk{{Name: "a", URI: "sip:x", Prefixes: []string{"+1a"}}}
		}, "outbound_trunks[0].prefixes[0]: "},
		{func(c *Config) { c.Admission.PerSourceRate = 5 }, "admission.per_source_burst: "},
		{func(c *Config) { c.Admission.RetryAfter = 0 }, "admission.retry_after: "},
		{func(c *Config) { c.Timers.T1 = 0 }, "timers.t1: "},
		{func(c *Config) { c.MaxMessageSize = 10 }, "max_message_size: "},
		{func(c *Config) { c.Registrar.Realm = "x"; c.Registrar.MaxContacts = 0 }, "registrar.max_contacts: "},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("want error naming %q, got %v", tc.key, err)
		}
	}
}

// TestSipgoLogsAreTruncatedAndLimited floods the stack with unparsable
// datagrams: sipgo's "failed to parse" records are counted, cut short, and
// rate limited on their way to our logger.
func TestSipgoLogsAreTruncatedAndLimited(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := New(testConfig(), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newRawClient(t, s.Addr("udp").String())
	junk := "GARBAGE " + strings.Repeat("x", 5000) + "\r\n\r\n"
	for i := 0; i < 200; i++ {
		c.send(junk)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().ParseErrors < 200 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := s.Stats()
	if st.ParseErrors != 200 {
		t.Fatalf("parse errors = %d, want 200", st.ParseErrors)
	}
	if st.LogRecordsDropped == 0 {
		t.Fatal("no log record was rate limited")
	}
	out := buf.String()
	if n := strings.Count(out, "failed to parse"); n == 0 || n > 60 {
		t.Fatalf("%d records logged", n)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if len(line) > 1000 {
			t.Fatalf("log line of %d bytes: sipgo's data not truncated", len(line))
		}
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FuzzParseMessage feeds arbitrary bytes through everything tandem adds on
// top of sipgo's parser: the datagram screen, sipgo's parse, the request
// checks, the SDP offer validation, URI header splitting of the
// Request-URI and Refer-To, digest header parsing and the header copy
// handed to the switch. None may panic, a body the screen calls truncated
// must not parse as complete, and the header copy must match sipgo's values.
func FuzzParseMessage(f *testing.F) {
	// The committed corpus (testdata/fuzz/FuzzParseMessage) holds the RFC
	// 4475 torture messages and tandem's own cases.
	f.Add([]byte(benchMessage()))
	parser := sip.NewParser()
	ours := func(host string, port int) bool { return host == "127.0.0.1" && port == 5060 }
	f.Fuzz(func(t *testing.T, data []byte) {
		verdict := screenDatagram(data)
		msg, err := parser.ParseSIP(bytes.Clone(data))
		if verdict == datagramTruncated && err == nil && msg != nil && msg.ContentLength() != nil && int(*msg.ContentLength()) > len(msg.Body()) {
			t.Fatalf("truncated datagram parsed with a short body")
		}
		if err != nil {
			return
		}
		// The shared-buffer header copy must give sipgo's own values.
		if hm, ok := msg.(interface{ Headers() []sip.Header }); ok {
			src, got := hm.Headers(), copyHeaders(hm)
			for i, h := range src {
				if got[i].Name != h.Name() || got[i].Value != h.Value() {
					t.Fatalf("copyHeaders[%d] = %q: %q, sipgo says %q: %q", i, got[i].Name, got[i].Value, h.Name(), h.Value())
				}
			}
		}
		if req, ok := msg.(*sip.Request); ok {
			checkRequest(req, ours)
			if req.IsInvite() {
				checkOffer(req)
			}
			_, _, _ = SplitURIHeaders(req.Recipient.String())
			if h := req.GetHeader("Refer-To"); h != nil {
				_, _, _ = SplitURIHeaders(strings.Trim(h.Value(), "<>"))
			}
			if h := req.GetHeader("Authorization"); h != nil {
				_, _ = parseCredentials(h.Value())
			}
			_, _ = keyFromRequest(req)
		}
		if res, ok := msg.(*sip.Response); ok {
			if h := res.GetHeader("WWW-Authenticate"); h != nil {
				_, _ = parseChallenge(h.Value())
			}
			_, _ = sipfragStatus(res.Body())
		}
		_ = ValidateSDP(msg.Body())
	})
}
