package sipstack

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"tandem/internal/sipptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// SIPp processes are reaped by os/exec; sipgo starts these timers'
		// goroutines only while transactions are alive.
		goleak.IgnoreTopFunction("time.Sleep"),
	)
}

const testSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SIPSTACK_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// testConfig listens on free loopback ports, trusts 127.0.0.0/8 as a trunk
// and uses a short T1 so retransmission tests run fast.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Listen = []ListenConfig{
		{Transport: "udp", Address: "127.0.0.1:0", Sockets: 2},
		{Transport: "tcp", Address: "127.0.0.1:0"},
	}
	cfg.InboundTrunks = []InboundTrunk{{Name: "loopback", CIDRs: []string{"127.0.0.0/8"}}}
	cfg.Timers.T1 = 100 * time.Millisecond
	cfg.Timers.T2 = 400 * time.Millisecond
	cfg.Timers.TransactionLinger = 500 * time.Millisecond
	cfg.Timers.GatewayTimeout = time.Second
	return cfg
}

// startStack builds and starts a stack and closes it at the end of the test.
func startStack(t testing.TB, cfg Config, opts ...Option) *Stack {
	t.Helper()
	opts = append([]Option{WithLogger(testLogger(t))}, opts...)
	s, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func scenario(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", "sipp", name+".xml"))
	return p
}

// sippUAC runs a SIPp UAC scenario against the stack and returns its result.
func sippUAC(t testing.TB, s *Stack, name string, calls int) sipptest.Result {
	return sippUACOver(t, s, "udp", name, calls)
}

func sippUACOver(t testing.TB, s *Stack, transport, name string, calls int) sipptest.Result {
	t.Helper()
	cfg := sipptest.Config{
		Scenario: scenario(name), Remote: s.Addr(transport).String(), Calls: calls, Transport: transport,
		Rate: 20, Dir: t.TempDir(), Timeout: 30 * time.Second,
		Args: []string{"-s", "+15550001111"},
	}
	p, err := sipptest.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("sipp %s: %v", name, err)
	}
	res, err := p.Wait()
	if err != nil {
		t.Fatalf("sipp %s: %v", name, err)
	}
	return res
}

// sippUAS starts a SIPp UAS scenario for calls calls.
func sippUAS(t testing.TB, name string, calls int) *sipptest.Process {
	t.Helper()
	p, err := sipptest.Start(context.Background(), sipptest.Config{
		Scenario: scenario(name), Calls: calls, Dir: t.TempDir(), Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("sipp %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	return p
}

func waitSipp(t testing.TB, p *sipptest.Process) sipptest.Result {
	t.Helper()
	res, err := p.Wait()
	if err != nil {
		t.Fatalf("sipp: %v", err)
	}
	return res
}

// callRecorder collects what handlers saw, for assertions after SIPp ends.
type callRecorder struct {
	mu    sync.Mutex
	calls []*InboundCall
	errs  []error
	ends  []End
	done  chan struct{}
}

func newRecorder() *callRecorder { return &callRecorder{done: make(chan struct{}, 100)} }

func (r *callRecorder) add(c *InboundCall) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *callRecorder) errf(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Errorf(format, args...))
	r.mu.Unlock()
}

func (r *callRecorder) end(e End) {
	r.mu.Lock()
	r.ends = append(r.ends, e)
	r.mu.Unlock()
	r.done <- struct{}{}
}

func (r *callRecorder) wait(t testing.TB, n int) []End {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d calls ended", i, n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		t.Error(err)
	}
	return append([]End(nil), r.ends...)
}

// rawClient is a bare UDP SIP peer for cases SIPp cannot express: withheld
// ACKs, silence, exact bytes.
type rawClient struct {
	t    testing.TB
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newRawClient(t testing.TB, to string) *rawClient {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ra, _ := net.ResolveUDPAddr("udp", to)
	return &rawClient{t: t, conn: c, to: ra}
}

func (c *rawClient) addr() string { return c.conn.LocalAddr().String() }

func (c *rawClient) send(msg string) {
	c.t.Helper()
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	msg = strings.ReplaceAll(msg, "\r\r\n", "\r\n")
	if _, err := c.conn.WriteTo([]byte(msg), c.to); err != nil {
		c.t.Fatal(err)
	}
}

// recv returns the next message, or nil after wait.
func (c *rawClient) recv(wait time.Duration) sip.Message {
	c.t.Helper()
	buf := make([]byte, 65535)
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	n, _, err := c.conn.ReadFrom(buf)
	if err != nil {
		return nil
	}
	m, err := sip.ParseMessage(bytes.Clone(buf[:n]))
	if err != nil {
		c.t.Fatalf("unparsable message from stack: %v\n%s", err, buf[:n])
	}
	return m
}

// recvResponse skips to the first response with a status ≥ min.
func (c *rawClient) recvResponse(min int, wait time.Duration) *sip.Response {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		m := c.recv(time.Until(deadline))
		if r, ok := m.(*sip.Response); ok && r.StatusCode >= min {
			return r
		}
		if m == nil {
			return nil
		}
	}
	return nil
}

func (c *rawClient) invite(callID string, extra string) string {
	body := testSDP
	return fmt.Sprintf("INVITE sip:+15550001111@%s SIP/2.0\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s\n"+
		"From: <sip:alice@%s>;tag=from-%s\n"+
		"To: <sip:+15550001111@%s>\n"+
		"Call-ID: %s\n"+
		"CSeq: 1 INVITE\n"+
		"Contact: <sip:alice@%s>\n"+
		"Max-Forwards: 70\n%s"+
		"Content-Type: application/sdp\n"+
		"Content-Length: %d\n\n%s",
		c.to, c.addr(), callID, c.addr(), callID, c.to, callID, c.addr(), extra, len(body), body)
}

func (c *rawClient) ack(callID, toTag string, cseq int) string {
	return fmt.Sprintf("ACK sip:+15550001111@%s SIP/2.0\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-ack-%s-%d\n"+
		"From: <sip:alice@%s>;tag=from-%s\n"+
		"To: <sip:+15550001111@%s>;tag=%s\n"+
		"Call-ID: %s\n"+
		"CSeq: %d ACK\n"+
		"Max-Forwards: 70\n"+
		"Content-Length: 0\n\n",
		c.to, c.addr(), callID, cseq, c.addr(), callID, c.to, toTag, callID, cseq)
}

func (c *rawClient) bye(callID, toTag string) string {
	return fmt.Sprintf("BYE sip:+15550001111@%s SIP/2.0\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-bye-%s\n"+
		"From: <sip:alice@%s>;tag=from-%s\n"+
		"To: <sip:+15550001111@%s>;tag=%s\n"+
		"Call-ID: %s\n"+
		"CSeq: 2 BYE\n"+
		"Max-Forwards: 70\n"+
		"Content-Length: 0\n\n",
		c.to, c.addr(), callID, c.addr(), callID, c.to, toTag, callID)
}

func toTag(r *sip.Response) string {
	tag, _ := r.To().Params.Get("tag")
	return tag
}

func headerOf(r sip.Message, name string) string {
	if h := r.GetHeaders(name); len(h) > 0 {
		return h[0].Value()
	}
	return ""
}

// b2bua is the test harness B2BUA: each inbound call is forwarded with Dial
// to target; provisional answers, the final answer and the hangup are
// relayed between the legs, as the switch will do.
func b2bua(s *atomic.Pointer[Stack], target func() string, rec *callRecorder) InviteHandler {
	return func(in *InboundCall) {
		defer func() { rec.end(in.End()) }()
		out, err := s.Load().Dial(in.Context(), DialRequest{
			Target: target(), FromUser: in.From().User, FromDisplay: in.From().Display,
			SDP: in.Offer(), Headers: in.XHeaders(),
		})
		if err != nil {
			rec.errf("dial: %v", err)
			_ = in.Reject(503, "", nil)
			return
		}
		for u := range out.Updates() {
			if !u.Final {
				_ = in.Progress(u.Code, u.SDP)
				continue
			}
			if u.Code >= 300 || u.AnsweredAfterCancel {
				_ = in.Reject(u.Code, u.Reason, xHeaders(u.Headers))
				return
			}
			if err := in.Answer(context.Background(), u.SDP, xHeaders(u.Headers)); err != nil {
				rec.errf("answer: %v", err)
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
}
