package sipstack

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestInboundReferAcceptedWithNotify: a caller's REFER reaches the Refer
// hook; the stack answers 202, sends NOTIFY 100 Trying, and the switch's
// Notify(200) ends the subscription.
func TestInboundReferAcceptedWithNotify(t *testing.T) {
	rec := newRecorder()
	var mu sync.Mutex
	var target string
	var wg sync.WaitGroup
	s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
		defer func() { rec.end(c.End()) }()
		c.SetHooks(DialogHooks{Refer: func(ctx context.Context, r *IncomingRefer) int {
			mu.Lock()
			target = r.ReferTo
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.Notify(context.Background(), 200, "OK"); err != nil {
					rec.errf("notify: %v", err)
				}
				if err := r.Notify(context.Background(), 200, "OK"); err != ErrSubscriptionEnded {
					rec.errf("second final notify = %v", err)
				}
			}()
			return 202
		}})
		if err := c.Answer(context.Background(), []byte(testSDP), nil); err != nil {
			rec.errf("answer: %v", err)
		}
		<-c.Done()
	}))
	if res := sippUAC(t, s, "uac_refer", 1); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
	rec.wait(t, 1)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if target != "<sip:carol@example.com?X-Foo=1&User-to-User=aa>" {
		t.Fatalf("ReferTo = %q", target)
	}
}

// TestInboundReferRefusedByDefault: without a Refer hook the REFER gets 603
// and the call goes on (Twilio refuses REFER without referUrl).
func TestInboundReferRefusedByDefault(t *testing.T) {
	var answered = make(chan *InboundCall, 1)
	s := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
		_ = c.Answer(context.Background(), []byte(testSDP), nil)
		answered <- c
		<-c.Done()
	}))
	c := newRawClient(t, s.Addr("udp").String())
	c.send(c.invite("refer-def", ""))
	ok := c.recvResponse(200, 2*time.Second)
	if ok == nil {
		t.Fatal("no 200")
	}
	c.send(c.ack("refer-def", toTag(ok), 1))
	<-answered
	refer := strings.Replace(strings.Replace(c.bye("refer-def", toTag(ok)), "BYE", "REFER", 2), "Content-Length: 0", "Refer-To: <sip:x@y>\nContent-Length: 0", 1)
	refer = strings.Replace(refer, "CSeq: 2 REFER", "CSeq: 2 REFER", 1)
	c.send(refer)
	if r := c.recvResponse(200, 2*time.Second); r == nil || r.StatusCode != 603 {
		t.Fatalf("REFER answer = %v, want 603", r)
	}
	c.send(strings.Replace(c.bye("refer-def", toTag(ok)), "CSeq: 2 BYE", "CSeq: 3 BYE", 1))
	if r := c.recvResponse(200, 2*time.Second); r == nil || r.StatusCode != 200 {
		t.Fatalf("BYE answer = %v", r)
	}
}

// TestOutboundReferReportsNotifyCodes: Refer on an answered outbound call
// returns the REFER's 202 and the sipfrag codes of the NOTIFYs (Twilio's
// ReferSipResponseCode and NotifySipResponseCode).
func TestOutboundReferReportsNotifyCodes(t *testing.T) {
	s := startStack(t, testConfig())
	uas := sippUAS(t, "uas_refer", 1)
	oc := dial(t, s, context.Background(), DialRequest{Target: "sip:bob@" + uas.Addr().String()})
	if _, err := oc.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := oc.Refer(ctx, "sip:carol@example.com?X-Foo=1", nil)
	if err != nil || res.Code != 202 {
		t.Fatalf("Refer = %+v, %v", res, err)
	}
	var codes []int
	for c := range res.Notifies {
		codes = append(codes, c)
	}
	if len(codes) != 2 || codes[0] != 100 || codes[1] != 486 {
		t.Fatalf("notify codes = %v, want [100 486]", codes)
	}
	if err := oc.Hangup(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if r := waitSipp(t, uas); !r.OK() {
		t.Fatalf("sipp: %v", r)
	}
}

// TestB2BUAEndToEnd: SIPp UAC → stack (harness B2BUA) → SIPp UAS, over UDP
// and TCP on the inbound side, several calls each; the callee's X- header
// comes back on the caller's 200 and BYE is relayed.
func TestB2BUAEndToEnd(t *testing.T) {
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			const calls = 5
			rec := newRecorder()
			uas := sippUAS(t, "uas_answer", calls)
			var sp atomic.Pointer[Stack]
			s := startStack(t, testConfig(), WithInviteHandler(b2bua(&sp, func() string { return "sip:bob@" + uas.Addr().String() }, rec)))
			sp.Store(s)
			res := sippUACOver(t, s, tp, "uac_call_bye", calls)
			if !res.OK() || res.Successful != calls {
				t.Fatalf("uac: %v", res)
			}
			for _, e := range rec.wait(t, calls) {
				if e.Cause != EndRemoteBye {
					t.Errorf("inbound end = %+v", e)
				}
			}
			if r := waitSipp(t, uas); !r.OK() || r.Successful != calls {
				t.Fatalf("uas: %v", r)
			}
			waitIdle(t, s)
		})
	}
}
