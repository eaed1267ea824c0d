package ng

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tandem/rtpengine"
)

type ngTest struct {
	t      *testing.T
	e      *rtpengine.Engine
	client *net.UDPConn
	seq    int
}

func startServer(t *testing.T) *ngTest {
	t.Helper()
	cfg := rtpengine.DefaultConfig()
	cfg.Interfaces[0].SharedPorts = []int{0, 0}
	cfg.DedicatedPortMin, cfg.DedicatedPortMax = 0, 0
	cfg.Workers = 1
	cfg.RecvBufferBytes, cfg.SendBufferBytes = 1<<20, 1<<20
	e, err := rtpengine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := NewServer(e, nil).Serve(ctx, conn); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	client, err := net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		cancel()
		wg.Wait()
		e.Close()
	})
	return &ngTest{t: t, e: e, client: client}
}

func (n *ngTest) raw(msg []byte) []byte {
	n.t.Helper()
	if _, err := n.client.Write(msg); err != nil {
		n.t.Fatal(err)
	}
	buf := make([]byte, 65536)
	n.client.SetReadDeadline(time.Now().Add(3 * time.Second))
	k, err := n.client.Read(buf)
	if err != nil {
		n.t.Fatalf("no reply: %v", err)
	}
	return buf[:k]
}

func (n *ngTest) call(req Dict) Dict {
	n.t.Helper()
	n.seq++
	cookie := "c" + string(rune('a'+n.seq%26)) + strings.Repeat("x", n.seq/26)
	msg, err := Encode([]byte(cookie+" "), req)
	if err != nil {
		n.t.Fatal(err)
	}
	reply := n.raw(msg)
	if !bytes.HasPrefix(reply, []byte(cookie+" ")) {
		n.t.Fatalf("reply %q does not echo cookie %q", reply, cookie)
	}
	v, err := Decode(reply[len(cookie)+1:])
	if err != nil {
		n.t.Fatalf("reply: %v", err)
	}
	return v.(Dict)
}

// A Kamailio-style offer body (as rtpengine_offer() sends it).
func sdpBody(ip string, port int) string {
	return "v=0\r\n" +
		"o=user1 53655765 2353687637 IN IP4 " + ip + "\r\n" +
		"s=-\r\n" +
		"c=IN IP4 " + ip + "\r\n" +
		"t=0 0\r\n" +
		"m=audio " + itoa(port) + " RTP/AVP 0 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=sendrecv\r\n"
}

func itoa(i int) string {
	b, _ := Encode(nil, int64(i))
	return string(b[1 : len(b)-1])
}

func media(t *testing.T, sdp string) netip.AddrPort {
	t.Helper()
	d, err := rtpengine.ParseSDP([]byte(sdp))
	if err != nil {
		t.Fatalf("reply SDP: %v\n%s", err, sdp)
	}
	return d.Audio.RTP()
}

func listen(t *testing.T) *net.UDPConn {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rtpPacket(tag uint32) []byte {
	p := make([]byte, 172)
	p[0] = 0x80
	binary.BigEndian.PutUint32(p[12:], tag)
	return p
}

func expect(t *testing.T, c *net.UDPConn, from netip.AddrPort, tag uint32) {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, src, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("packet %d: %v", tag, err)
	}
	if src != from || n != 172 || binary.BigEndian.Uint32(buf[12:]) != tag {
		t.Fatalf("got %d bytes from %s, want packet %d from %s", n, src, tag, from)
	}
}

func TestOfferAnswerDeleteRoundTrip(t *testing.T) {
	// Registered first, so it runs after the server's cleanup.
	t.Cleanup(func() { goleak.VerifyNone(t) })
	n := startServer(t)
	if r := n.call(Dict{"command": "ping"}); r.Str("result") != "pong" {
		t.Fatalf("ping: %v", r)
	}
	alice, bob := listen(t), listen(t)
	ap := alice.LocalAddr().(*net.UDPAddr).AddrPort()
	bp := bob.LocalAddr().(*net.UDPAddr).AddrPort()
	offer := n.call(Dict{
		"command": "offer", "call-id": "call-1@example", "from-tag": "tagA",
		"sdp": sdpBody("127.0.0.1", int(ap.Port())), "ICE": "remove",
		"replace": []any{"origin", "session-connection"}, "flags": []any{"trust-address"},
		"received-from": []any{"IP4", "127.0.0.1"}, "via-branch": "z9hG4bK1",
	})
	if offer.Str("result") != "ok" {
		t.Fatalf("offer: %v", offer)
	}
	toBob := media(t, offer.Str("sdp"))
	if toBob.Port() == ap.Port() || !strings.Contains(offer.Str("sdp"), "a=rtpmap:101 telephone-event/8000") {
		t.Fatalf("offer SDP not rewritten or codecs lost:\n%s", offer.Str("sdp"))
	}
	// A retransmitted offer (same cookie) gets the same reply.
	answer := n.call(Dict{
		"command": "answer", "call-id": "call-1@example", "from-tag": "tagA", "to-tag": "tagB",
		"sdp": sdpBody("127.0.0.1", int(bp.Port())),
	})
	if answer.Str("result") != "ok" {
		t.Fatalf("answer: %v", answer)
	}
	toAlice := media(t, answer.Str("sdp"))
	// Media flows both ways through the relay.
	alice.WriteToUDPAddrPort(rtpPacket(1), toAlice)
	expect(t, bob, toBob, 1)
	bob.WriteToUDPAddrPort(rtpPacket(2), toBob)
	expect(t, alice, toAlice, 2)

	q := n.call(Dict{"command": "query", "call-id": "call-1@example"})
	tags, _ := q["tags"].(Dict)
	if q.Str("result") != "ok" || tags["tagA"] == nil || tags["tagB"] == nil {
		t.Fatalf("query: %v", q)
	}
	l := n.call(Dict{"command": "list"})
	if calls := l.List("calls"); len(calls) != 1 || calls[0] != "call-1@example" {
		t.Fatalf("list: %v", l)
	}
	// A re-INVITE offer keeps the endpoint.
	re := n.call(Dict{"command": "offer", "call-id": "call-1@example", "from-tag": "tagA", "to-tag": "tagB",
		"sdp": sdpBody("127.0.0.1", int(ap.Port()))})
	if media(t, re.Str("sdp")) != toBob {
		t.Fatalf("re-offer moved the endpoint to %s", media(t, re.Str("sdp")))
	}
	d := n.call(Dict{"command": "delete", "call-id": "call-1@example", "from-tag": "tagA"})
	if d.Str("result") != "ok" {
		t.Fatalf("delete: %v", d)
	}
	if st := n.e.Stats(); st.Sessions != 0 || st.Legs != 0 {
		t.Fatalf("after delete: %+v", st)
	}
	if r := n.call(Dict{"command": "delete", "call-id": "call-1@example"}); r.Str("result") != "error" {
		t.Fatalf("second delete: %v", r)
	}
}

// A NAT'd caller (private SDP address, SIP from elsewhere) gets a
// dedicated port; media goes to the SIP source until its first packet. A
// trunk whose media address differs from its signalling address keeps the
// shared fast path.
func TestOfferNATDetection(t *testing.T) {
	for _, tc := range []struct {
		name, sdpIP, from string
		flags             []any
		dedicated         int
	}{
		{"private SDP behind NAT", "10.0.0.5", "127.0.0.1", nil, 1},
		{"carrier media IP differs from signalling", "127.0.0.7", "127.0.0.1", nil, 0},
		{"trust-address overrides", "10.0.0.5", "127.0.0.1", []any{"trust-address"}, 0},
		{"SIP-source-address forces", "127.0.0.7", "127.0.0.1", []any{"SIP-source-address"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startServer(t)
			req := Dict{
				"command": "offer", "call-id": "nat", "from-tag": "a",
				"sdp": sdpBody(tc.sdpIP, 4000), "received-from": []any{"IP4", tc.from},
			}
			if tc.flags != nil {
				req["flags"] = tc.flags
			}
			if offer := n.call(req); offer.Str("result") != "ok" {
				t.Fatalf("offer: %v", offer)
			}
			if st := n.e.Stats(); st.DedicatedLegs != tc.dedicated {
				t.Fatalf("dedicated legs %d, want %d", st.DedicatedLegs, tc.dedicated)
			}
			q := n.call(Dict{"command": "query", "call-id": "nat"})
			tag := q["tags"].(Dict)["a"].(Dict)
			ep := tag["medias"].([]any)[0].(Dict)["streams"].([]any)[0].(Dict)["endpoint"].(Dict)
			want := tc.sdpIP
			if tc.dedicated == 1 {
				want = tc.from // never the private address
			}
			if got := ep.Str("address"); got != want {
				t.Fatalf("media goes to %s, want %s", got, want)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	n := startServer(t)
	for _, tc := range []struct {
		name string
		msg  string
	}{
		{"not bencode", "c1 hello"},
		{"not a dict", "c2 li1ee"},
		{"unknown command", "c3 d7:command5:dancee"},
		{"offer without sdp", "c4 d7:command5:offer7:call-id1:x8:from-tag1:ae"},
		{"offer with bad sdp", "c5 d7:command5:offer7:call-id1:x8:from-tag1:a3:sdp5:v=0\r\ne"},
		{"answer unknown call", "c6 d7:command6:answer7:call-id1:y8:from-tag1:a3:sdp0:e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply := n.raw([]byte(tc.msg))
			v, err := Decode(reply[bytes.IndexByte(reply, ' ')+1:])
			if err != nil {
				t.Fatalf("reply %q: %v", reply, err)
			}
			if d := v.(Dict); d.Str("result") != "error" || d.Str("error-reason") == "" {
				t.Fatalf("reply %v, want an error with a reason", d)
			}
		})
	}
	if st := n.e.Stats(); st.Sessions != 0 {
		t.Fatalf("failed requests left %d sessions", st.Sessions)
	}
}

func TestRetransmittedCookieAnsweredFromCache(t *testing.T) {
	n := startServer(t)
	msg, _ := Encode([]byte("same "), Dict{"command": "offer", "call-id": "r", "from-tag": "a", "sdp": sdpBody("127.0.0.1", 4000)})
	r1 := n.raw(msg)
	r2 := n.raw(msg)
	if !bytes.Equal(r1, r2) {
		t.Fatalf("retransmission answered differently:\n%q\n%q", r1, r2)
	}
	if st := n.e.Stats(); st.Legs != 2 {
		t.Fatalf("legs %d, want 2 (the retransmission must not allocate)", st.Legs)
	}
}

func TestListenAndServeStopsOnCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg := rtpengine.DefaultConfig()
	cfg.Interfaces[0].SharedPorts = []int{0}
	cfg.Workers = 1
	e, err := rtpengine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ListenAndServe(ctx, "127.0.0.1:0", e, nil) }()
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not return")
	}
}
