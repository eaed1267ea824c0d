package rtpengine

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

const offerSDP = "v=0\r\n" +
	"o=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\n" +
	"s=-\r\n" +
	"c=IN IP4 198.51.100.7\r\n" +
	"t=0 0\r\n" +
	"a=ice-ufrag:F7gI\r\n" +
	"m=audio 49170 RTP/AVP 0 8 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-16\r\n" +
	"a=rtcp:49171 IN IP4 198.51.100.7\r\n" +
	"a=candidate:1 1 UDP 2130706431 10.0.1.1 8998 typ host\r\n" +
	"a=ice-pwd:asd88fgpdd777uzjYhagZg\r\n" +
	"a=sendrecv\r\n" +
	"m=video 51372 RTP/AVP 99\r\n" +
	"c=IN IP4 198.51.100.8\r\n" +
	"a=rtpmap:99 h263-1998/90000\r\n"

func TestParseSDP(t *testing.T) {
	d, err := ParseSDP([]byte(offerSDP))
	if err != nil {
		t.Fatal(err)
	}
	a := d.Audio
	if a.RTP() != netip.MustParseAddrPort("198.51.100.7:49170") || a.RTCP != netip.MustParseAddrPort("198.51.100.7:49171") {
		t.Fatalf("audio %s rtcp %s", a.RTP(), a.RTCP)
	}
	if a.Direction != SendRecv || a.Hold() || a.ClockRate != 8000 || len(a.PayloadTypes) != 3 || a.PayloadTypes[2] != 101 {
		t.Fatalf("audio %+v", a)
	}
	if len(d.Media) != 2 || d.Media[1].Type != "video" {
		t.Fatalf("media %+v", d.Media)
	}
}

func TestParseSDPCases(t *testing.T) {
	base := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
	for _, tc := range []struct {
		name string
		body string
		err  error
		rtp  string
		rtcp string
		dir  Direction
	}{
		{"media-level c and implicit rtcp", base + "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.0.2.9\r\n", nil, "192.0.2.9:4000", "192.0.2.9:4001", SendRecv},
		{"bare LF line ends", strings.ReplaceAll(base+"c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n", "\r\n", "\n"), nil, "192.0.2.1:4000", "192.0.2.1:4001", SendRecv},
		{"hold with 0.0.0.0 and sendonly", base + "c=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", nil, "0.0.0.0:4000", "0.0.0.0:4001", SendOnly},
		{"session-level inactive", base + "c=IN IP4 192.0.2.1\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n", nil, "192.0.2.1:4000", "192.0.2.1:4001", Inactive},
		{"rtcp port only", base + "c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:5000\r\n", nil, "192.0.2.1:4000", "192.0.2.1:5000", SendRecv},
		{"ipv6", "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", nil, "[2001:db8::1]:4000", "[2001:db8::1]:4001", SendRecv},
		{"no audio", base + "c=IN IP4 192.0.2.1\r\nm=video 4000 RTP/AVP 99\r\n", ErrNoAudio, "", "", 0},
		{"declined audio only", base + "c=IN IP4 192.0.2.1\r\nm=audio 0 RTP/AVP 0\r\n", ErrNoAudio, "", "", 0},
		{"empty", "", ErrSDP, "", "", 0},
		{"garbage", "hello world", ErrSDP, "", "", 0},
		{"no v=0 first", "o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n", ErrSDP, "", "", 0},
		{"fqdn connection", base + "c=IN IP4 example.com\r\nm=audio 4000 RTP/AVP 0\r\n", ErrSDP, "", "", 0},
		{"family mismatch", base + "c=IN IP4 2001:db8::1\r\nm=audio 4000 RTP/AVP 0\r\n", ErrSDP, "", "", 0},
		{"port out of range", base + "c=IN IP4 192.0.2.1\r\nm=audio 70000 RTP/AVP 0\r\n", ErrSDP, "", "", 0},
		{"bad payload type", base + "c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP x\r\n", ErrSDP, "", "", 0},
		{"no connection", base + "m=audio 4000 RTP/AVP 0\r\n", ErrSDP, "", "", 0},
		{"control character", base + "c=IN IP4 192.0.2.1\r\ns=a\x00b\r\nm=audio 4000 RTP/AVP 0\r\n", ErrSDP, "", "", 0},
		{"empty line inside", base + "\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n", ErrSDP, "", "", 0},
		{"not RTP", base + "c=IN IP4 192.0.2.1\r\nm=audio 4000 udptl t38\r\n", ErrSDP, "", "", 0},
		{"blank rtcp", base + "c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp: \r\n", ErrSDP, "", "", 0}, // used to panic
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseSDP([]byte(tc.body))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Audio.RTP().String() != tc.rtp || d.Audio.RTCP.String() != tc.rtcp || d.Audio.Direction != tc.dir {
				t.Fatalf("rtp %s rtcp %s dir %s, want %s %s %s", d.Audio.RTP(), d.Audio.RTCP, d.Audio.Direction, tc.rtp, tc.rtcp, tc.dir)
			}
		})
	}
}

func TestRewriteSDP(t *testing.T) {
	local := Endpoint{IP: netip.MustParseAddr("203.0.113.5"), Port: 30000, RTCPPort: 30001}
	var o Origin
	out, err := RewriteSDP([]byte(offerSDP), local, &o)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, leak := range []string{"198.51.100", "10.0.1.1", "candidate", "ice-"} {
		if strings.Contains(s, leak) {
			t.Errorf("rewritten SDP still has %q:\n%s", leak, s)
		}
	}
	for _, want := range []string{
		"c=IN IP4 203.0.113.5\r\n",
		"m=audio 30000 RTP/AVP 0 8 101\r\n",
		"a=rtcp:30001 IN IP4 203.0.113.5\r\n",
		"a=rtpmap:101 telephone-event/8000\r\n",
		"a=fmtp:101 0-16\r\n",
		"a=sendrecv\r\n",
		"m=video 0 RTP/AVP 99\r\n", // declined: one audio stream is relayed
	} {
		if !strings.Contains(s, want) {
			t.Errorf("rewritten SDP lacks %q:\n%s", want, s)
		}
	}
	d, err := ParseSDP(out)
	if err != nil {
		t.Fatalf("rewritten SDP does not parse: %v\n%s", err, s)
	}
	if d.Audio.RTP() != local.RTP() || d.Audio.RTCP != local.RTCP() {
		t.Fatalf("rewritten audio %s/%s", d.Audio.RTP(), d.Audio.RTCP)
	}
	v1 := d.OriginVersion
	// Same offer again (a re-INVITE refresh): same o= version.
	out2, _ := RewriteSDP([]byte(offerSDP), local, &o)
	d2, _ := ParseSDP(out2)
	if d2.OriginVersion != v1 || d2.OriginSession != d.OriginSession {
		t.Fatalf("unchanged offer bumped o= from %s to %s", v1, d2.OriginVersion)
	}
	// A changed offer (hold): the version rises (RFC 3264 §8).
	held := strings.Replace(offerSDP, "a=sendrecv", "a=sendonly", 1)
	out3, _ := RewriteSDP([]byte(held), local, &o)
	d3, _ := ParseSDP(out3)
	if d3.OriginVersion == v1 || d3.OriginSession != d.OriginSession || d3.Audio.Direction != SendOnly {
		t.Fatalf("changed offer: o= %s %s dir %s", d3.OriginSession, d3.OriginVersion, d3.Audio.Direction)
	}
}

func TestRewriteSDPMediaLevelConnection(t *testing.T) {
	body := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 192.0.2.9\r\na=rtcp-mux\r\n"
	local := Endpoint{IP: netip.MustParseAddr("127.0.0.1"), Port: 5000, RTCPPort: 6000}
	out, err := RewriteSDP([]byte(body), local, &Origin{})
	if err != nil {
		t.Fatal(err)
	}
	want := "m=audio 5000 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 127.0.0.1\r\na=rtcp:6000 IN IP4 127.0.0.1\r\na=rtcp-mux\r\n"
	if !strings.HasSuffix(string(out), want) {
		t.Fatalf("got:\n%s\nwant suffix:\n%s", out, want)
	}
}

func TestLegRewriteKeepsEndpointAcrossReinvites(t *testing.T) {
	te := startEngine(t, testConfig())
	s, _ := te.NewSession("re-invite")
	l, _ := s.NewLeg(LegOptions{})
	first, err := l.RewriteSDP([]byte(offerSDP))
	if err != nil {
		t.Fatal(err)
	}
	second, err := l.RewriteSDP([]byte(strings.Replace(offerSDP, "49170", "49180", 1)))
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := ParseSDP(first)
	d2, _ := ParseSDP(second)
	if d1.Audio.RTP() != d2.Audio.RTP() || d1.Audio.RTP() != l.Local().RTP() {
		t.Fatalf("endpoint moved: %s then %s", d1.Audio.RTP(), d2.Audio.RTP())
	}
}

// sippOffer is what SIPp's uac scenario offers: the common case on the call
// path, so the benchmarks below measure it.
const sippOffer = "v=0\r\n" +
	"o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"c=IN IP4 127.0.0.1\r\n" +
	"t=0 0\r\n" +
	"m=audio 6000 RTP/AVP 0 8 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-15\r\n" +
	"a=ptime:20\r\n" +
	"a=sendrecv\r\n"

func BenchmarkParseSDP(b *testing.B) {
	body := []byte(sippOffer)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSDP(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRewriteSDP(b *testing.B) {
	body := []byte(sippOffer)
	local := Endpoint{IP: netip.MustParseAddr("203.0.113.5"), Port: 30000, RTCPPort: 30001}
	var o Origin
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RewriteSDP(body, local, &o); err != nil {
			b.Fatal(err)
		}
	}
}
