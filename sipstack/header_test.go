package sipstack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestCopyHeadersMatchesSipgo checks that the shared-buffer copy gives every
// header, in order, exactly the name and value sipgo's own Value gives:
// parsed headers (From, To, Contact, CSeq, routes, Refer-To), string-typed
// ones and generic ones, past the 32 headers that use the shared buffer.
func TestCopyHeadersMatchesSipgo(t *testing.T) {
	base := "INVITE sip:+15550001111@127.0.0.1:5060 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bK-1;rport\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-2\r\n" +
		"Record-Route: <sip:10.0.0.1;lr;ftag=x>\r\n" +
		"Route: <sip:127.0.0.1;lr>\r\n" +
		"From: \"Alice Q\" <sip:alice@127.0.0.2:5070;user=phone>;tag=abc\r\n" +
		"To: <sip:+15550001111@127.0.0.1:5060>\r\n" +
		"Call-ID: copy-1@127.0.0.2\r\n" +
		"CSeq: 7 INVITE\r\n" +
		"Contact: \"A\" <sip:alice@127.0.0.2:5070;transport=udp>;expires=60\r\n" +
		"Max-Forwards: 70\r\n" +
		"Refer-To: <sip:bob@example.com?X-A=1>\r\n" +
		"X-Customer-ID: 42\r\n" +
		"User-to-User: 56a390f3d2b7310023a2;encoding=hex\r\n" +
		"Diversion: <sip:+15550002222@carrier>;reason=unconditional\r\n" +
		"Content-Type: application/sdp\r\n"
	var many strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&many, "X-Extra-%d: v%d\r\n", i, i)
	}
	tail := "Content-Length: 0\r\n\r\n"
	tests := []struct {
		name string
		msg  string
	}{
		{"typical INVITE", base + tail},
		{"more than 32 headers", base + many.String() + "Contact: <sip:late@127.0.0.9>\r\n" + tail},
		{"only generic headers", "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nX-A: 1\r\nX-B: 2\r\n\r\n"},
		{"IPv6 and odd Via hosts", "OPTIONS sip:x@[::1] SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK-a\r\n" +
			"Via: SIP/2.0/TCP [::ffff:192.0.2.1]:5061;received=192.0.2.9\r\n" +
			"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-b;rport=5060;ttl=\"1\"\r\n" +
			"Via: SIP/2.0/UDP 192.0.2.4:65535\r\n" +
			"CSeq: 2147483647 OPTIONS\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pm, err := sip.ParseMessage([]byte(tt.msg))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			m := pm.(interface{ Headers() []sip.Header })
			src := m.Headers()
			got := copyHeaders(m)
			if len(got) != len(src) {
				t.Fatalf("copied %d headers, message has %d", len(got), len(src))
			}
			for i, h := range src {
				if want := (Header{Name: h.Name(), Value: h.Value()}); got[i] != want {
					t.Errorf("header %d: got %q: %q, want %q: %q", i, got[i].Name, got[i].Value, want.Name, want.Value)
				}
			}
		})
	}
}

// BenchmarkCopyHeaders copies the headers of a callee's 200 OK, as every
// Dial answer does.
func BenchmarkCopyHeaders(b *testing.B) {
	msg := "SIP/2.0 200 OK\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK.abcdef;rport=5060\r\n" +
		"From: <sip:alice@127.0.0.1>;tag=Q2ru8cJIH4mBiiit\r\n" +
		"To: <sip:bob@127.0.0.1:15070>;tag=8374SIPpTag011\r\n" +
		"Call-ID: ZWzm9SSXlGnt3Il5M69NNzJ2@127.0.0.1\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:bob@127.0.0.1:15070;transport=UDP>\r\n" +
		"X-Callee: bob\r\n" +
		"Content-Type: application/sdp\r\n" +
		"Content-Length: 0\r\n\r\n"
	pm, err := sip.ParseMessage([]byte(msg))
	if err != nil {
		b.Fatal(err)
	}
	m := pm.(*sip.Response)
	b.ReportAllocs()
	for b.Loop() {
		if hs := copyHeaders(m); len(hs) != 9 {
			b.Fatal(len(hs))
		}
	}
}
