package sipstack

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInboundCallAnsweredThenBYE drives SIPp UACs into the stack; each call
// is answered and ended by one side, and the handler sees the INVITE's
// identity and headers.
func TestInboundCallAnsweredThenBYE(t *testing.T) {
	cases := []struct {
		name     string
		scenario string
		hangup   bool // tandem hangs up
		want     EndCause
	}{
		{"caller hangs up", "uac_call_bye", false, EndRemoteBye},
		{"tandem hangs up", "uac_call_recv_bye", true, EndLocal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
				defer func() { rec.end(c.End()) }()
				if c.Called() != "+15550001111" || c.Trunk() != "loopback" || c.From().User != "alice" || c.From().Display != "Alice" {
					rec.errf("call identity: called=%q trunk=%q from=%+v", c.Called(), c.Trunk(), c.From())
				}
				if v, _ := c.Header("X-Customer-ID"); v != "42" {
					rec.errf("X-Customer-ID = %q", v)
				}
				if xs := c.XHeaders(); len(xs) != 2 || xs[1].Name != "User-to-User" || xs[1].Value != "3030;encoding=hex" {
					rec.errf("XHeaders = %+v", xs)
				}
				if err := ValidateSDP(c.Offer()); err != nil {
					rec.errf("offer: %v", err)
				}
				if err := c.Progress(180, nil); err != nil {
					rec.errf("progress: %v", err)
				}
				if err := c.Answer(context.Background(), []byte(testSDP), []Header{{"X-Answer", "yes"}}); err != nil {
					rec.errf("answer: %v", err)
					return
				}
				if tc.hangup {
					if err := c.Hangup(context.Background(), nil); err != nil {
						rec.errf("hangup: %v", err)
					}
				}
				<-c.Done()
			}))
			res := sippUAC(t, s, tc.scenario, 3)
			if !res.OK() || res.Successful != 3 {
				t.Fatalf("sipp: %v", res)
			}
			ends := rec.wait(t, 3)
			for _, e := range ends {
				if e.Cause != tc.want || e.Code != 200 {
					t.Errorf("end = %+v, want cause %v code 200", e, tc.want)
				}
			}
			st := s.Stats()
			if st.RequestsIn["INVITE"] < 3 || st.ResponsesOut["2xx"] < 3 || st.InboundCallsTotal != 3 {
				t.Errorf("stats: in=%v out=%v total=%d", st.RequestsIn, st.ResponsesOut, st.InboundCallsTotal)
			}
			waitIdle(t, s)
		})
	}
}

// waitIdle waits until no call is active (slots released at call end).
func waitIdle(t testing.TB, s *Stack) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.ActiveCalls() != 0 || s.Stats().DialogsActive != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("calls still active: %d, dialogs %d", s.ActiveCalls(), s.Stats().DialogsActive)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInboundCancelWhileRingingGets487(t *testing.T) {
	rec := newRecorder()
	s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
		defer func() { rec.end(c.End()) }()
		if err := c.Progress(180, nil); err != nil {
			rec.errf("progress: %v", err)
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			rec.errf("context not cancelled by CANCEL")
		}
		if err := c.Answer(context.Background(), []byte(testSDP), nil); !errors.Is(err, ErrCanceled) {
			rec.errf("Answer after CANCEL = %v, want ErrCanceled", err)
		}
	}))
	res := sippUAC(t, s, "uac_cancel", 2)
	if !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
	for _, e := range rec.wait(t, 2) {
		if e.Cause != EndCanceled || e.Code != 487 {
			t.Errorf("end = %+v, want canceled/487", e)
		}
	}
	waitIdle(t, s)
}

func TestInboundEarlyMediaThenAnswer(t *testing.T) {
	rec := newRecorder()
	s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
		defer func() { rec.end(c.End()) }()
		if err := c.Progress(183, []byte(testSDP)); err != nil {
			rec.errf("183: %v", err)
		}
		if err := c.Answer(context.Background(), []byte(testSDP), nil); err != nil {
			rec.errf("answer: %v", err)
		}
		<-c.Done()
	}))
	if res := sippUAC(t, s, "uac_early_media", 2); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
	rec.wait(t, 2)
}

func TestInboundRejectCodes(t *testing.T) {
	for _, code := range []int{486, 603, 503} {
		t.Run(strings.TrimSpace(reasonPhrase(code)), func(t *testing.T) {
			rec := newRecorder()
			s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
				defer func() { rec.end(c.End()) }()
				if err := c.Reject(code, "", []Header{{"X-Why", "test"}}); err != nil {
					rec.errf("reject: %v", err)
				}
				if err := c.Answer(context.Background(), nil, nil); !errors.Is(err, ErrAlreadyAnswered) {
					rec.errf("Answer after Reject = %v", err)
				}
			}))
			res := sippUAC(t, s, "uac_expect_"+strconv.Itoa(code), 2)
			if !res.OK() {
				t.Fatalf("sipp: %v", res)
			}
			for _, e := range rec.wait(t, 2) {
				if e.Cause != EndRejected || e.Code != code {
					t.Errorf("end = %+v", e)
				}
			}
		})
	}
}

// TestInboundReInviteHoldResume: the caller's re-INVITEs (hold with
// sendonly, resume with sendrecv) reach the ReInvite hook, whose answer goes
// back in the 200.
func TestInboundReInviteHoldResume(t *testing.T) {
	rec := newRecorder()
	var mu sync.Mutex
	var offers []string
	s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
		defer func() { rec.end(c.End()) }()
		c.SetHooks(DialogHooks{ReInvite: func(ctx context.Context, offer []byte) ([]byte, int) {
			mu.Lock()
			offers = append(offers, string(offer))
			mu.Unlock()
			dir := "sendrecv"
			if strings.Contains(string(offer), "a=sendonly") {
				dir = "recvonly"
			}
			return []byte(testSDP + "a=" + dir + "\r\n"), 200
		}})
		if err := c.Answer(context.Background(), []byte(testSDP), nil); err != nil {
			rec.errf("answer: %v", err)
		}
		<-c.Done()
	}))
	if res := sippUAC(t, s, "uac_reinvite", 1); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
	rec.wait(t, 1)
	mu.Lock()
	defer mu.Unlock()
	if len(offers) != 2 || !strings.Contains(offers[0], "a=sendonly") || !strings.Contains(offers[1], "a=sendrecv") {
		t.Fatalf("re-INVITE offers = %q", offers)
	}
}

// TestAnswerRetransmitsUntilACK withholds the ACK: the 200 must come again
// (at T1, 2*T1, …) and stop once the ACK arrives.
func TestAnswerRetransmitsUntilACK(t *testing.T) {
	answered := make(chan error, 1)
	s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
		answered <- c.Answer(context.Background(), []byte(testSDP), nil)
		<-c.Done()
	}))
	c := newRawClient(t, s.Addr("udp").String())
	c.send(c.invite("retrans-1", ""))
	first := c.recvResponse(200, 2*time.Second)
	if first == nil || first.StatusCode != 200 {
		t.Fatalf("no 200: %v", first)
	}
	// No ACK: the 200 is retransmitted.
	again := c.recvResponse(200, 2*time.Second)
	if again == nil || again.StatusCode != 200 || toTag(again) != toTag(first) {
		t.Fatalf("200 not retransmitted with the same tag: %v", again)
	}
	c.send(c.ack("retrans-1", toTag(first), 1))
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Answer did not return after ACK")
	}
	// Drain a retransmission that may have crossed the ACK, then silence.
	_ = c.recvResponse(200, 150*time.Millisecond)
	if m := c.recvResponse(200, 600*time.Millisecond); m != nil {
		t.Fatalf("200 still retransmitted after ACK: %v", m.StartLine())
	}
	c.send(c.bye("retrans-1", toTag(first)))
	if r := c.recvResponse(200, 2*time.Second); r == nil || r.StatusCode != 200 {
		t.Fatalf("BYE answer: %v", r)
	}
	waitIdle(t, s)
}

// TestAnswerWithoutACKSendsBYE: no ACK within 64*T1 → Answer fails and the
// stack sends BYE (RFC 3261 §13.3.1.4).
func TestAnswerWithoutACKSendsBYE(t *testing.T) {
	cfg := testConfig()
	cfg.Timers.T1 = 20 * time.Millisecond
	cfg.Timers.T2 = 80 * time.Millisecond
	answered := make(chan error, 1)
	s := startStack(t, cfg, WithInviteHandler(func(c *InboundCall) {
		answered <- c.Answer(context.Background(), []byte(testSDP), nil)
		<-c.Done()
	}))
	c := newRawClient(t, s.Addr("udp").String())
	c.send(c.invite("noack-1", ""))
	select {
	case err := <-answered:
		if !errors.Is(err, ErrNoACK) {
			t.Fatalf("Answer = %v, want ErrNoACK", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Answer did not give up")
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		m := c.recv(time.Until(deadline))
		if m == nil {
			break
		}
		if req, ok := m.(interface{ StartLine() string }); ok && strings.HasPrefix(req.StartLine(), "BYE ") {
			return
		}
	}
	t.Fatal("no BYE after the ACK timeout")
}
