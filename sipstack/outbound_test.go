package sipstack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func dial(t *testing.T, s *Stack, ctx context.Context, r DialRequest) *OutboundCall {
	t.Helper()
	if r.SDP == nil {
		r.SDP = []byte(testSDP)
	}
	oc, err := s.Dial(ctx, r)
	if err != nil {
		t.Fatalf("Dial %s: %v", r.Target, err)
	}
	return oc
}

func TestDialAnsweredThenHangup(t *testing.T) {
	s := startStack(t, testConfig())
	uas := sippUAS(t, "uas_answer", 1)
	oc := dial(t, s, context.Background(), DialRequest{
		Target:   "sip:bob@" + uas.Addr().String() + "?X-Account=AC1&User-to-User=ab%3Bencoding%3Dhex",
		FromUser: "+15550002222", FromDisplay: "Tandem",
	})
	var codes []int
	for u := range oc.Updates() {
		codes = append(codes, u.Code)
		if u.Final {
			if u.Code != 200 || ValidateSDP(u.SDP) != nil {
				t.Fatalf("final = %d sdp=%q", u.Code, u.SDP)
			}
			if v, _ := HeaderValue(u.Headers, "X-Callee"); v != "bob" {
				t.Errorf("X-Callee = %q", v)
			}
		}
	}
	if len(codes) < 2 || codes[0] != 180 {
		t.Errorf("updates = %v, want 180 then 200", codes)
	}
	if err := oc.Hangup(context.Background(), nil); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	if e := oc.End(); e.Cause != EndLocal || e.Code != 200 {
		t.Fatalf("end = %+v", e)
	}
	if res := waitSipp(t, uas); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
	waitIdle(t, s)
}

func TestDialRemoteHangsUp(t *testing.T) {
	s := startStack(t, testConfig())
	uas := sippUAS(t, "uas_answer_bye", 1)
	oc := dial(t, s, context.Background(), DialRequest{Target: "bob@" + uas.Addr().String()})
	if _, err := oc.Wait(context.Background()); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	select {
	case <-oc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("remote BYE did not end the dialog")
	}
	e := oc.End()
	if e.Cause != EndRemoteBye {
		t.Fatalf("end = %+v", e)
	}
	if v, _ := HeaderValue(e.Headers, "X-Hangup-Reason"); v != "done" {
		t.Errorf("BYE headers = %+v", e.Headers)
	}
	if res := waitSipp(t, uas); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
}

func TestDialBusy(t *testing.T) {
	s := startStack(t, testConfig())
	uas := sippUAS(t, "uas_busy", 1)
	oc := dial(t, s, context.Background(), DialRequest{Target: "sip:bob@" + uas.Addr().String()})
	u, err := oc.Wait(context.Background())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 486 || u.Code != 486 {
		t.Fatalf("Wait = %+v, %v; want 486", u, err)
	}
	if v, _ := HeaderValue(u.Headers, "X-Reason"); v != "busy" {
		t.Errorf("X-Reason = %q", v)
	}
	if e := oc.End(); e.Cause != EndRejected || e.Code != 486 {
		t.Fatalf("end = %+v", e)
	}
	if res := waitSipp(t, uas); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
}

func TestDialNoAnswerIsCancelled(t *testing.T) {
	cases := []struct {
		name  string
		setup func() (context.Context, DialRequest, func(*OutboundCall))
		want  error
		cause EndCause
	}{
		{"ring timeout", func() (context.Context, DialRequest, func(*OutboundCall)) {
			return context.Background(), DialRequest{Timeout: 300 * time.Millisecond}, func(*OutboundCall) {}
		}, ErrRingTimeout, EndTimeout},
		{"context cancelled", func() (context.Context, DialRequest, func(*OutboundCall)) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			_ = cancel
			return ctx, DialRequest{}, func(*OutboundCall) {}
		}, ErrCanceled, EndCanceled},
		{"Cancel", func() (context.Context, DialRequest, func(*OutboundCall)) {
			return context.Background(), DialRequest{}, func(oc *OutboundCall) {
				for u := range oc.Updates() {
					if u.Code == 180 {
						oc.Cancel()
					}
				}
			}
		}, ErrCanceled, EndCanceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startStack(t, testConfig())
			uas := sippUAS(t, "uas_ring_cancel", 1)
			ctx, r, act := tc.setup()
			r.Target = "sip:bob@" + uas.Addr().String()
			oc := dial(t, s, ctx, r)
			act(oc)
			u, err := oc.Wait(context.Background())
			if u.Code != 487 || !errors.Is(err, tc.want) {
				t.Fatalf("Wait = %d %v, want 487 %v", u.Code, err, tc.want)
			}
			if e := oc.End(); e.Cause != tc.cause {
				t.Fatalf("end = %+v", e)
			}
			if res := waitSipp(t, uas); !res.OK() {
				t.Fatalf("sipp: %v", res)
			}
		})
	}
}

// TestDialTrunkDigestAndPrefixRouting: an E.164 number goes to the trunk
// with the longest matching prefix, which challenges with 407; the stack
// answers once with the trunk's credentials.
func TestDialTrunkDigestAndPrefixRouting(t *testing.T) {
	uas := sippUAS(t, "uas_auth", 1)
	cfg := testConfig()
	cfg.OutboundTrunks = []OutboundTrunk{
		{Name: "everything", URI: "sip:192.0.2.1:5999", Prefixes: nil},
		{Name: "uk", URI: "sip:192.0.2.1:5998", Prefixes: []string{"+44"}},
		{Name: "us", URI: "sip:" + uas.Addr().String(), Prefixes: []string{"+1", "+1555"}, Username: "trunkuser", Password: "s3cret"},
	}
	s := startStack(t, cfg)
	oc := dial(t, s, context.Background(), DialRequest{Target: "+15550003333", FromUser: "+15550002222"})
	u, err := oc.Wait(context.Background())
	if err != nil || u.Gateway != "us" {
		t.Fatalf("Wait = %+v, %v", u, err)
	}
	if err := oc.Hangup(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if res := waitSipp(t, uas); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
}

func TestDialFailoverOn503(t *testing.T) {
	bad := sippUAS(t, "uas_503", 1)
	good := sippUAS(t, "uas_answer", 1)
	cfg := testConfig()
	cfg.OutboundTrunks = []OutboundTrunk{
		{Name: "second", URI: "sip:" + good.Addr().String(), Prefixes: []string{"+1"}, Priority: 2},
		{Name: "first", URI: "sip:" + bad.Addr().String(), Prefixes: []string{"+1"}, Priority: 1},
	}
	s := startStack(t, cfg)
	oc := dial(t, s, context.Background(), DialRequest{Target: "+15550003333"})
	u, err := oc.Wait(context.Background())
	if err != nil || u.Gateway != "second" || u.Code != 200 {
		t.Fatalf("Wait = %+v, %v", u, err)
	}
	_ = oc.Hangup(context.Background(), nil)
	for _, p := range []string{"bad", "good"} {
		uas := bad
		if p == "good" {
			uas = good
		}
		if res := waitSipp(t, uas); !res.OK() {
			t.Fatalf("sipp %s: %v", p, res)
		}
	}
}

func TestDialNoFailoverOn4xx(t *testing.T) {
	busy := sippUAS(t, "uas_busy", 1)
	cfg := testConfig()
	cfg.OutboundTrunks = []OutboundTrunk{
		{Name: "first", URI: "sip:" + busy.Addr().String(), Priority: 1},
		{Name: "second", URI: "sip:192.0.2.1:5999", Priority: 2},
	}
	s := startStack(t, cfg)
	oc := dial(t, s, context.Background(), DialRequest{Target: "+15550003333"})
	u, _ := oc.Wait(context.Background())
	if u.Code != 486 || u.Gateway != "first" {
		t.Fatalf("final = %+v, want 486 from first", u)
	}
	waitSipp(t, busy)
}

// TestParallelDialFirstAnswerWins rings three SIPp UASs at once, as
// <Dial><Number/><Number/><Number/></Dial> would: one answers, the switch
// cancels the others; one of the losers answers across the CANCEL and gets
// ACK and BYE.
func TestParallelDialFirstAnswerWins(t *testing.T) {
	s := startStack(t, testConfig())
	winner := sippUAS(t, "uas_answer", 1)
	ringer := sippUAS(t, "uas_ring_cancel", 1)
	racer := sippUAS(t, "uas_answer_after_cancel", 1)
	ctx, cancelLosers := context.WithCancel(context.Background())
	defer cancelLosers()
	legs := map[string]*OutboundCall{}
	for name, addr := range map[string]string{"winner": winner.Addr().String(), "ringer": ringer.Addr().String(), "racer": racer.Addr().String()} {
		legCtx := ctx
		if name == "winner" {
			legCtx = context.Background()
		}
		legs[name] = dial(t, s, legCtx, DialRequest{Target: "sip:bob@" + addr})
	}
	// Wait for the losers to ring so that their CANCEL is allowed (§9.1).
	for _, n := range []string{"ringer", "racer"} {
		for u := range legs[n].Updates() {
			if u.Code == 180 {
				break
			}
		}
	}
	u, err := legs["winner"].Wait(context.Background())
	if err != nil || u.Code != 200 {
		t.Fatalf("winner = %+v, %v", u, err)
	}
	cancelLosers()
	if u, _ := legs["ringer"].Wait(context.Background()); u.Code != 487 || u.Err != ErrCanceled {
		t.Errorf("ringer = %+v", u)
	}
	if u, _ := legs["racer"].Wait(context.Background()); !u.AnsweredAfterCancel || u.Code != 487 {
		t.Errorf("racer = %+v", u)
	}
	_ = legs["winner"].Hangup(context.Background(), nil)
	if res := waitSipp(t, winner); !res.OK() {
		t.Errorf("winner sipp: %v", res)
	}
	if res := waitSipp(t, ringer); !res.OK() {
		t.Errorf("ringer sipp: %v", res)
	}
	if res := waitSipp(t, racer); !res.OK() {
		t.Errorf("racer sipp: %v", res)
	}
	waitIdle(t, s)
}

func TestDialRoutingErrors(t *testing.T) {
	cfg := testConfig()
	cfg.OutboundTrunks = []OutboundTrunk{{Name: "uk", URI: "sip:192.0.2.1", Prefixes: []string{"+44"}}}
	s := startStack(t, cfg)
	cases := []struct {
		req  DialRequest
		want error
	}{
		{DialRequest{Target: "+15550001111"}, ErrNoRoute},
		{DialRequest{Target: "sips:bob@example.com"}, ErrBadTarget},
		{DialRequest{Target: "tel:+15550001111"}, ErrBadTarget},
		{DialRequest{Target: "sip:bob@example.com?Via=evil"}, ErrHeaderNotAllowed},
		{DialRequest{Target: "sip:bob@example.com", Headers: []Header{{"X-Bad", "a\r\nInjected: yes"}}}, ErrHeaderNotAllowed},
		{DialRequest{Target: "sip:bob@example.com?X-Long=" + strings.Repeat("a", 1100)}, ErrHeadersTooLong},
	}
	for _, tc := range cases {
		if _, err := s.Dial(context.Background(), tc.req); !errors.Is(err, tc.want) {
			t.Errorf("Dial(%.40q) = %v, want %v", tc.req.Target, err, tc.want)
		}
	}
}

func TestRoutePlanOrder(t *testing.T) {
	cfg := testConfig()
	cfg.OutboundTrunks = []OutboundTrunk{
		{Name: "any-b", URI: "sip:b.example", Priority: 2},
		{Name: "any-a", URI: "sip:a.example", Priority: 1},
		{Name: "us", URI: "sip:us.example", Prefixes: []string{"+1"}},
		{Name: "nyc", URI: "sip:nyc.example;transport=tcp", Prefixes: []string{"+1212"}},
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := s.plan(DialRequest{Target: "+12125550100"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range plan {
		got = append(got, a.gateway+"/"+a.tp+"/"+a.ruri.User)
	}
	want := "nyc/TCP/+12125550100 us/UDP/+12125550100 any-a/UDP/+12125550100 any-b/UDP/+12125550100"
	if strings.Join(got, " ") != want {
		t.Fatalf("plan = %v\nwant %v", got, want)
	}
}

// TestReInviteBetweenTwoStacks: an outbound leg puts the call on hold and
// resumes it with ReInvite; the other stack's ReInvite hook answers; INFO
// reaches the Info hook; the callee hangs up.
func TestReInviteBetweenTwoStacks(t *testing.T) {
	infos := make(chan string, 1)
	callee := startStack(t, testConfig(), WithInviteHandler(func(c *InboundCall) {
		c.SetHooks(DialogHooks{
			ReInvite: func(ctx context.Context, offer []byte) ([]byte, int) {
				if strings.Contains(string(offer), "a=sendonly") {
					return []byte(testSDP + "a=recvonly\r\n"), 200
				}
				return []byte(testSDP), 200
			},
			Info: func(ctx context.Context, r *InDialogRequest) int {
				infos <- string(r.Body)
				return 200
			},
		})
		if err := c.Answer(context.Background(), []byte(testSDP), nil); err != nil {
			return
		}
		select {
		case <-infos:
			infos <- "seen"
		case <-time.After(5 * time.Second):
		}
		_ = c.Hangup(context.Background(), nil)
	}))
	caller := startStack(t, testConfig())
	oc := dial(t, caller, context.Background(), DialRequest{Target: "sip:bob@" + callee.Addr("udp").String()})
	if _, err := oc.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ans, err := oc.ReInvite(context.Background(), []byte(testSDP+"a=sendonly\r\n"))
	if err != nil || !strings.Contains(string(ans), "a=recvonly") {
		t.Fatalf("hold: %q %v", ans, err)
	}
	if ans, err := oc.ReInvite(context.Background(), []byte(testSDP)); err != nil || strings.Contains(string(ans), "recvonly") {
		t.Fatalf("resume: %q %v", ans, err)
	}
	if string(oc.LocalSDP()) != testSDP {
		t.Errorf("local SDP not updated")
	}
	res, err := oc.request(context.Background(), "INFO", nil, "application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO: %v %v", res, err)
	}
	select {
	case <-oc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("callee's BYE did not end the call")
	}
	if e := oc.End(); e.Cause != EndRemoteBye {
		t.Fatalf("end = %+v", e)
	}
	waitIdle(t, caller)
	waitIdle(t, callee)
}
