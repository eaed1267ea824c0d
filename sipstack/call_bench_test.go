package sipstack

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkB2BUACall measures one whole call through the stack as a
// B2BUA, the path of every call tandem carries (minus TwiML and media):
// INVITE in, 100, Dial out, 180 and 200 relayed, ACK both ways, BYE in,
// BYE out, 200 both ways. The caller and callee are bare UDP peers on
// loopback that build and read messages without allocating, so allocs/op
// and B/op are the stack's (and sipgo's) per call. Calls run one after
// another; ns/op is the latency of a call's eight exchanges.
func BenchmarkB2BUACall(b *testing.B) {
	cfg := testConfig()
	cfg.Timers.T1 = 500 * time.Millisecond // no retransmission in a healthy run
	cfg.Timers.T2 = 4 * time.Second
	cfg.Timers.TransactionLinger = 4 * time.Second
	callee := newBenchPeer(b)
	// The handler runs on sipgo's goroutines, started before s is known.
	var sp atomic.Pointer[Stack]
	s := startStack(b, cfg, WithInviteHandler(func(in *InboundCall) {
		benchForward(sp.Load(), "sip:bob@"+callee.addr().String(), in)
	}))
	sp.Store(s)
	go callee.serveUAS()
	caller := newBenchPeer(b)
	stackAddr := s.Addr("udp")

	// Warm up pools and the dialog table.
	for i := 0; i < 200; i++ {
		caller.call(b, stackAddr, i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		caller.call(b, stackAddr, 1000+i)
	}
	b.StopTimer()
	callee.close()
}

// benchForward is the B2BUA leg logic of bench/sip (the switch minus TwiML
// and media): dial, relay progress and the answer, pass the BYE on.
func benchForward(s *Stack, target string, in *InboundCall) {
	out, err := s.Dial(in.Context(), DialRequest{Target: target, FromUser: in.From().User, SDP: in.Offer()})
	if err != nil {
		_ = in.Reject(503, "", nil)
		return
	}
	for u := range out.Updates() {
		if !u.Final {
			_ = in.Progress(u.Code, u.SDP)
			continue
		}
		if u.Code >= 300 || u.AnsweredAfterCancel {
			_ = in.Reject(u.Code, "", nil)
			return
		}
		if err := in.Answer(context.Background(), u.SDP, nil); err != nil {
			_ = out.Hangup(context.Background(), nil)
			return
		}
	}
	select {
	case <-in.Done():
		_ = out.Hangup(context.Background(), nil)
	case <-out.Done():
		_ = in.Hangup(context.Background(), nil)
	}
}

// benchPeer is a UDP SIP peer whose buffers are reused, so that it adds no
// allocations to the benchmark's count.
type benchPeer struct {
	conn *net.UDPConn
	in   []byte
	out  []byte
	to   []byte // the To header of the 200, with the callee's tag
	wg   sync.WaitGroup
}

func newBenchPeer(b *testing.B) *benchPeer {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	p := &benchPeer{conn: c, in: make([]byte, 65536), out: make([]byte, 0, 4096), to: make([]byte, 0, 256)}
	b.Cleanup(p.close)
	return p
}

func (p *benchPeer) addr() *net.UDPAddr { return p.conn.LocalAddr().(*net.UDPAddr) }

func (p *benchPeer) close() {
	_ = p.conn.Close()
	p.wg.Wait()
}

// call makes call n: INVITE, wait for the 200, ACK, BYE, wait for its 200.
func (p *benchPeer) call(b *testing.B, stack netip.AddrPort, n int) {
	p.out = p.request(p.out[:0], "INVITE", n, 1, stack, nil)
	p.send(b, stack)
	p.await(b, "INVITE")
	p.out = p.request(p.out[:0], "ACK", n, 1, stack, p.to)
	p.send(b, stack)
	p.out = p.request(p.out[:0], "BYE", n, 2, stack, p.to)
	p.send(b, stack)
	p.await(b, "BYE")
}

func (p *benchPeer) send(b *testing.B, to netip.AddrPort) {
	if _, err := p.conn.WriteToUDPAddrPort(p.out, to); err != nil {
		b.Fatal(err)
	}
}

// await reads until the 200 for method, keeping its To header.
func (p *benchPeer) await(b *testing.B, method string) {
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := p.conn.ReadFromUDPAddrPort(p.in)
		if err != nil {
			b.Fatalf("waiting for 200 %s: %v", method, err)
		}
		msg := p.in[:n]
		if !bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
			continue // a request from the stack: not in this flow
		}
		if bytes.HasPrefix(msg, []byte("SIP/2.0 1")) {
			continue
		}
		if !bytes.HasPrefix(msg, []byte("SIP/2.0 200")) {
			b.Fatalf("%s answered %q", method, msg[:bytes.IndexByte(msg, '\r')])
		}
		if !bytes.HasSuffix(benchHeader(msg, "CSeq"), []byte(method)) {
			continue // a retransmission of an earlier answer
		}
		if method == "INVITE" {
			p.to = append(p.to[:0], benchHeader(msg, "To")...)
		}
		return
	}
}

func (p *benchPeer) request(out []byte, method string, n, cseq int, stack netip.AddrPort, to []byte) []byte {
	host := []byte("127.0.0.1:")
	out = append(out, method...)
	out = append(out, " sip:+15550001111@"...)
	out = append(out, host...)
	out = strconv.AppendInt(out, int64(stack.Port()), 10)
	out = append(out, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	out = append(out, host...)
	out = strconv.AppendInt(out, int64(p.addr().Port), 10)
	out = append(out, ";branch=z9hG4bK-b"...)
	out = strconv.AppendInt(out, int64(n), 10)
	out = append(out, '-')
	out = append(out, method...)
	out = append(out, ";rport\r\nFrom: <sip:alice@127.0.0.1>;tag=f"...)
	out = strconv.AppendInt(out, int64(n), 10)
	out = append(out, "\r\nTo: "...)
	if to != nil {
		out = append(out, to...)
	} else {
		out = append(out, "<sip:+15550001111@127.0.0.1>"...)
	}
	out = append(out, "\r\nCall-ID: bench-"...)
	out = strconv.AppendInt(out, int64(n), 10)
	out = append(out, "@127.0.0.1\r\nCSeq: "...)
	out = strconv.AppendInt(out, int64(cseq), 10)
	out = append(out, ' ')
	out = append(out, method...)
	out = append(out, "\r\nContact: <sip:alice@"...)
	out = append(out, host...)
	out = strconv.AppendInt(out, int64(p.addr().Port), 10)
	out = append(out, ">\r\nMax-Forwards: 70\r\n"...)
	if method == "INVITE" {
		out = append(out, "Content-Type: application/sdp\r\nContent-Length: "...)
		out = strconv.AppendInt(out, int64(len(testSDP)), 10)
		out = append(out, "\r\n\r\n"...)
		return append(out, testSDP...)
	}
	return append(out, "Content-Length: 0\r\n\r\n"...)
}

// serveUAS answers INVITEs with 180 and 200 (with SDP) and BYEs with 200.
func (p *benchPeer) serveUAS() {
	p.wg.Add(1)
	defer p.wg.Done()
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(p.in)
		if err != nil {
			return
		}
		msg := p.in[:n]
		switch {
		case bytes.HasPrefix(msg, []byte("INVITE ")):
			p.out = p.response(p.out[:0], msg, "180 Ringing", false)
			_, _ = p.conn.WriteToUDPAddrPort(p.out, from)
			p.out = p.response(p.out[:0], msg, "200 OK", true)
			_, _ = p.conn.WriteToUDPAddrPort(p.out, from)
		case bytes.HasPrefix(msg, []byte("BYE ")):
			p.out = p.response(p.out[:0], msg, "200 OK", false)
			_, _ = p.conn.WriteToUDPAddrPort(p.out, from)
		}
	}
}

func (p *benchPeer) response(out, req []byte, status string, sdp bool) []byte {
	out = append(out, "SIP/2.0 "...)
	out = append(out, status...)
	out = append(out, "\r\n"...)
	for _, h := range [...]string{"Via", "From", "To", "Call-ID", "CSeq"} {
		out = append(out, h...)
		out = append(out, ": "...)
		out = append(out, benchHeader(req, h)...)
		if h == "To" && !bytes.Contains(benchHeader(req, h), []byte(";tag=")) {
			out = append(out, ";tag=callee"...)
		}
		out = append(out, "\r\n"...)
	}
	out = append(out, "Contact: <sip:bob@127.0.0.1:"...)
	out = strconv.AppendInt(out, int64(p.addr().Port), 10)
	out = append(out, ">\r\n"...)
	if !sdp {
		return append(out, "Content-Length: 0\r\n\r\n"...)
	}
	out = append(out, "Content-Type: application/sdp\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(testSDP)), 10)
	out = append(out, "\r\n\r\n"...)
	return append(out, testSDP...)
}

// benchHeader returns the value of the first header called name (exact
// case, as sipgo writes them), or nil.
func benchHeader(msg []byte, name string) []byte {
	for {
		i := bytes.Index(msg, []byte("\r\n"))
		if i < 0 {
			return nil
		}
		msg = msg[i+2:]
		if len(msg) < len(name)+1 || bytes.HasPrefix(msg, []byte("\r\n")) {
			return nil
		}
		if string(msg[:len(name)]) == name && msg[len(name)] == ':' {
			v := msg[len(name)+1:]
			if j := bytes.Index(v, []byte("\r\n")); j >= 0 {
				v = v[:j]
			}
			return bytes.TrimSpace(v)
		}
	}
}
