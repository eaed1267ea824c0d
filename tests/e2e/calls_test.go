package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

const (
	inboundNumber = "+14155550199"
	callerNumber  = "+14155550100"
)

// provision creates, through the twilio-go client, an application whose
// VoiceUrl is voicePath on the app server and a number routed to it.
func provision(t *testing.T, d *tandem, a *app, voicePath string, configure func(*openapi.CreateApplicationParams)) string {
	t.Helper()
	p := &openapi.CreateApplicationParams{}
	p.SetFriendlyName("e2e " + t.Name())
	p.SetVoiceUrl(a.url(voicePath))
	p.SetVoiceMethod("POST")
	p.SetStatusCallback(a.url("/status/app"))
	if configure != nil {
		configure(p)
	}
	ap, err := d.client.Api.CreateApplication(p)
	if err != nil {
		t.Fatalf("create application: %v", err)
	}
	np := &openapi.CreateIncomingPhoneNumberParams{}
	np.SetPhoneNumber(inboundNumber)
	np.SetVoiceApplicationSid(*ap.Sid)
	// The number's own VoiceUrl must lose to the application's (§7.3).
	np.SetVoiceUrl(a.url("/number-own-url-must-not-be-used"))
	if _, err := d.client.Api.CreateIncomingPhoneNumber(np); err != nil {
		t.Fatalf("create number: %v", err)
	}
	return *ap.Sid
}

// callRecords lists the call records through the API.
func callRecords(t *testing.T, d *tandem) []openapi.ApiV2010Call {
	t.Helper()
	calls, err := d.client.Api.ListCall(&openapi.ListCallParams{})
	if err != nil {
		t.Fatalf("list calls: %v", err)
	}
	return calls
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// waitRecords waits until the API shows n finished calls, and returns them.
func waitRecords(t *testing.T, d *tandem, n int) []openapi.ApiV2010Call {
	t.Helper()
	var calls []openapi.ApiV2010Call
	waitUntil(t, 10*time.Second, "finished call records", func() bool {
		calls = callRecords(t, d)
		done := 0
		for _, c := range calls {
			switch str(c.Status) {
			case "completed", "busy", "failed", "no-answer", "canceled":
				done++
			}
		}
		return done >= n
	})
	return calls
}

func byDirection(calls []openapi.ApiV2010Call, dir string) []openapi.ApiV2010Call {
	var out []openapi.ApiV2010Call
	for _, c := range calls {
		if str(c.Direction) == dir {
			out = append(out, c)
		}
	}
	return out
}

// TestAnsweredCallRelaysRTPBothWays is the product's main path: SIPp
// (carrier) → tandem → webhook <Dial><Sip> → SIPp (callee), RTP counted at
// both ends, the webhook signed, X- headers delivered, records and
// callbacks written. Once the media has been counted the call is hung up
// through the REST API (Status=completed), which sends BYE both ways (the
// caller's and the callee's own BYEs are covered by the tests below).
func TestAnsweredCallRelaysRTPBothWays(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	caller, callee := newRTPPeer(t), newRTPPeer(t)
	dir := t.TempDir()
	uas := startUAS(t, uasOptions{Mode: "answer", RTPPort: callee.port(), PortFile: filepath.Join(dir, "b.port"), Headers200: []string{"X-Callee: bob"}}, 1)
	a.on("/voice", `<Response><Dial action="/dial-done"><Sip statusCallback="/status/leg" statusCallbackEvent="initiated ringing answered completed">sip:bob@`+uas.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/dial-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)

	uac := startUAC(t, d, uacOptions{
		Service: inboundNumber, From: callerNumber, RTPPort: caller.port(), End: "wait",
		Headers:  []string{"X-CustomerID: cust-42", "User-to-User: 3030;encoding=hex", "X-Ignored-By-Nobody: yes"},
		PortFile: filepath.Join(dir, "a.port"),
	})
	aPort, bPort := readPort(t, filepath.Join(dir, "a.port")), readPort(t, filepath.Join(dir, "b.port"))
	// Without answerOnBridge the caller is answered before the callee is
	// dialled; media flows once the callee answers and the legs are
	// bridged, which the child's "answered" callback reports.
	a.wait("/status/leg", 3, 10*time.Second)
	const n = 50
	errc := make(chan error, 1)
	go func() { errc <- caller.send(aPort, n, 0x1111) }()
	if err := callee.send(bPort, n, 0x2222); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for caller.received.Load() < n || callee.received.Load() < n {
		if time.Now().After(deadline) {
			resp, _ := http.Get("http://" + d.admin + "/metrics")
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var media []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "tandem_media_") {
					media = append(media, l)
				}
			}
			t.Fatalf("RTP: caller received %d, callee %d of %d (tandem ports a=%d b=%d, peers a=%d b=%d)\n%s",
				caller.received.Load(), callee.received.Load(), n, aPort, bPort, caller.port(), callee.port(), strings.Join(media, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	voiceReq := a.wait("/voice", 1, 5*time.Second)[0]
	up := &openapi.UpdateCallParams{}
	up.SetStatus("completed")
	rec, err := d.client.Api.UpdateCall(voiceReq.Form.Get("CallSid"), up)
	if err != nil {
		t.Fatalf("hang up through the API: %v", err)
	}
	if str(rec.Status) != "completed" {
		t.Errorf("UpdateCall(Status=completed) answered status %q", str(rec.Status))
	}
	mustSucceed(t, "caller", uac)
	mustSucceed(t, "callee", uas)
	if got, want := caller.received.Load(), int64(n); got != want {
		t.Errorf("caller received %d RTP packets, want %d", got, want)
	}
	if got, want := callee.received.Load(), int64(n); got != want {
		t.Errorf("callee received %d RTP packets, want %d", got, want)
	}

	voice := a.wait("/voice", 1, 5*time.Second)[0]
	if !voice.SignatureOK {
		t.Errorf("voice webhook: X-Twilio-Signature does not validate with twilio-go's RequestValidator")
	}
	expectParams(t, voice, map[string]string{
		"AccountSid": testAccountSID, "From": callerNumber, "To": inboundNumber, "Caller": callerNumber, "Called": inboundNumber,
		"CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
		"SipHeader_X-CustomerID": "cust-42", "SipHeader_User-to-User": "3030;encoding=hex",
	})
	if !strings.HasPrefix(voice.Form.Get("CallSid"), "CA") || len(voice.Form.Get("CallSid")) != 34 {
		t.Errorf("CallSid %q", voice.Form.Get("CallSid"))
	}
	if voice.Header.Get("I-Twilio-Idempotency-Token") == "" {
		t.Error("no I-Twilio-Idempotency-Token")
	}
	if len(a.requestsTo("/number-own-url-must-not-be-used")) != 0 {
		t.Error("the number's own VoiceUrl was used although it has a VoiceApplicationSid")
	}

	done := a.wait("/dial-done", 1, 5*time.Second)[0]
	expectParams(t, done, map[string]string{"DialCallStatus": "completed", "DialBridged": "true", "DialSipResponseCode": "200", "SipHeader_X-Callee": "bob"})
	if !done.SignatureOK {
		t.Error("dial action: bad signature")
	}
	if done.Form.Get("DialSipCallId") == "" || done.Form.Get("DialCallSid") == "" {
		t.Errorf("dial action lacks DialSipCallId/DialCallSid: %v", done.Form)
	}

	// The child leg's callbacks, in order, with sequence numbers.
	legs := a.wait("/status/leg", 4, 5*time.Second)
	var got []string
	for i, r := range legs {
		got = append(got, r.Form.Get("CallStatus"))
		if r.Form.Get("SequenceNumber") != strconv.Itoa(i) {
			t.Errorf("callback %d: SequenceNumber=%s", i, r.Form.Get("SequenceNumber"))
		}
		if r.Form.Get("ParentCallSid") != voice.Form.Get("CallSid") {
			t.Errorf("callback %d: ParentCallSid=%s, want %s", i, r.Form.Get("ParentCallSid"), voice.Form.Get("CallSid"))
		}
		if !r.SignatureOK {
			t.Errorf("callback %d: bad signature", i)
		}
	}
	if strings.Join(got, ",") != "initiated,ringing,in-progress,completed" {
		t.Errorf("child callbacks %v, want initiated,ringing,in-progress,completed", got)
	}
	expectParams(t, legs[3], map[string]string{"SipResponseCode": "200", "Direction": "outbound-dial", "CallbackSource": "call-progress-events"})
	if legs[3].Form.Get("CallDuration") == "" || legs[3].Form.Get("Timestamp") == "" {
		t.Errorf("completed callback lacks CallDuration/Timestamp: %v", legs[3].Form)
	}
	// The application's status callback: completed only, for the parent.
	appcb := a.wait("/status/app", 1, 5*time.Second)
	expectParams(t, appcb[0], map[string]string{"CallStatus": "completed", "Direction": "inbound", "CallSid": voice.Form.Get("CallSid")})

	calls := waitRecords(t, d, 2)
	in, out := byDirection(calls, "inbound"), byDirection(calls, "outbound-dial")
	if len(in) != 1 || len(out) != 1 {
		t.Fatalf("records: %d inbound, %d outbound-dial; want 1 and 1", len(in), len(out))
	}
	if str(in[0].Status) != "completed" || str(out[0].Status) != "completed" {
		t.Errorf("statuses: inbound %s, child %s", str(in[0].Status), str(out[0].Status))
	}
	if str(out[0].ParentCallSid) != str(in[0].Sid) {
		t.Errorf("child's parent_call_sid %s, want %s", str(out[0].ParentCallSid), str(in[0].Sid))
	}
	if str(in[0].Duration) == "" || str(in[0].StartTime) == "" || str(in[0].EndTime) == "" {
		t.Errorf("inbound record lacks duration/start/end: %+v", in[0])
	}
}

// TestCalleeHangsUp: the callee's BYE ends the bridge; its X- headers reach
// the Dial action as DialSipHeader_*, and the caller gets BYE.
func TestCalleeHangsUp(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	uas := startUAS(t, uasOptions{Mode: "answer", End: "bye", Hold: 300 * time.Millisecond, HeadersBye: []string{"X-Hangup-Reason: done"}}, 1)
	a.on("/voice", `<Response><Dial action="/dial-done"><Sip>sip:bob@`+uas.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/dial-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"})
	mustSucceed(t, "caller", uac)
	mustSucceed(t, "callee", uas)
	done := a.wait("/dial-done", 1, 5*time.Second)[0]
	expectParams(t, done, map[string]string{"DialCallStatus": "completed", "DialBridged": "true", "DialSipHeader_X-Hangup-Reason": "done"})
}

// TestCallerCancelsWhileRinging: CANCEL from the carrier while the callee
// rings: 487 to the caller, CANCEL to the callee, records canceled.
func TestCallerCancelsWhileRinging(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	uas := startUAS(t, uasOptions{Mode: "noanswer"}, 1)
	a.on("/voice", `<Response><Dial answerOnBridge="true"><Sip>sip:bob@`+uas.Addr().String()+`</Sip></Dial></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "cancel", CancelAfter: 700 * time.Millisecond})
	mustSucceed(t, "caller", uac)
	mustSucceed(t, "callee", uas)
	calls := waitRecords(t, d, 2)
	if in := byDirection(calls, "inbound"); len(in) != 1 || str(in[0].Status) != "canceled" {
		t.Errorf("inbound record: %+v", in)
	}
}

// TestDialOutcomes covers a callee that is busy, one that does not answer
// within the Dial timeout, and a number no trunk serves.
func TestDialOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		uas     *uasOptions
		noun    func(uas string) string
		timeout string
		want    map[string]string
	}{
		{
			name: "busy", uas: &uasOptions{Mode: "busy", HeadersFail: []string{"X-Busy-Reason: on-call"}},
			noun: func(uas string) string { return "<Sip>sip:bob@" + uas + "</Sip>" },
			want: map[string]string{"DialCallStatus": "busy", "DialSipResponseCode": "486", "DialBridged": "false", "DialSipHeader_X-Busy-Reason": "on-call"},
		},
		{
			name: "no answer", uas: &uasOptions{Mode: "noanswer"}, timeout: ` timeout="5"`,
			noun: func(uas string) string { return "<Sip>sip:bob@" + uas + "</Sip>" },
			want: map[string]string{"DialCallStatus": "no-answer", "DialSipResponseCode": "487", "DialBridged": "false"},
		},
		{
			name: "unroutable",
			noun: func(string) string { return "<Number>+442071838750</Number>" },
			want: map[string]string{"DialCallStatus": "failed", "DialBridged": "false"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := startTandem(t, daemonOptions{})
			a := newApp(t)
			addr := ""
			if c.uas != nil {
				p := startUAS(t, *c.uas, 1)
				addr = p.Addr().String()
				defer mustSucceed(t, "callee", p)
			}
			a.on("/voice", `<Response><Dial action="/dial-done"`+c.timeout+`>`+c.noun(addr)+`</Dial></Response>`)
			a.on("/dial-done", `<Response><Hangup/></Response>`)
			provision(t, d, a, "/voice", nil)
			uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"})
			mustSucceed(t, "caller", uac)
			done := a.wait("/dial-done", 1, 10*time.Second)[0]
			expectParams(t, done, c.want)
			calls := waitRecords(t, d, 2)
			child := byDirection(calls, "outbound-dial")
			if len(child) != 1 || str(child[0].Status) != c.want["DialCallStatus"] {
				t.Errorf("child record: %+v", child)
			}
		})
	}
}

// TestMultidialFastestWins: three callees ring at once, busy, slow and
// fast; the fast one is bridged and the slow one is cancelled.
func TestMultidialFastestWins(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	busy := startUAS(t, uasOptions{Mode: "busy"}, 1)
	slow := startUAS(t, uasOptions{Mode: "slow", AnswerDelay: 4 * time.Second}, 1)
	fast := startUAS(t, uasOptions{Mode: "answer", AnswerDelay: 300 * time.Millisecond, Headers200: []string{"X-Who: fast"}}, 1)
	a.on("/voice", `<Response><Dial action="/dial-done">`+
		`<Sip>sip:busy@`+busy.Addr().String()+`</Sip>`+
		`<Sip>sip:slow@`+slow.Addr().String()+`</Sip>`+
		`<Sip>sip:fast@`+fast.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/dial-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "bye", Hold: 500 * time.Millisecond})
	mustSucceed(t, "caller", uac)
	mustSucceed(t, "busy callee", busy)
	mustSucceed(t, "slow callee (cancelled)", slow)
	mustSucceed(t, "fast callee", fast)
	done := a.wait("/dial-done", 1, 5*time.Second)[0]
	expectParams(t, done, map[string]string{"DialCallStatus": "completed", "DialBridged": "true", "SipHeader_X-Who": "fast"})
	calls := waitRecords(t, d, 4)
	statuses := map[string]int{}
	for _, c := range byDirection(calls, "outbound-dial") {
		statuses[str(c.Status)]++
	}
	if statuses["busy"] != 1 || statuses["completed"] != 1 || statuses["canceled"] != 1 {
		t.Errorf("child statuses %v, want one busy, one completed, one canceled", statuses)
	}
}

// TestSequentialDialing: the first target is busy, the second answers.
func TestSequentialDialing(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	busy := startUAS(t, uasOptions{Mode: "busy"}, 1)
	ok := startUAS(t, uasOptions{Mode: "answer"}, 1)
	a.on("/voice", `<Response><Dial sequential="true" action="/dial-done">`+
		`<Sip>sip:first@`+busy.Addr().String()+`</Sip><Sip>sip:second@`+ok.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/dial-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "bye", Hold: 300 * time.Millisecond})
	mustSucceed(t, "caller", uac)
	mustSucceed(t, "busy", busy)
	mustSucceed(t, "second", ok)
	expectParams(t, a.wait("/dial-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed"})
}

// TestRedirectThenDialThroughTrunk: <Redirect> moves to a second document
// whose <Number> goes out through the outbound trunk of its prefix.
func TestRedirectThenDialThroughTrunk(t *testing.T) {
	uasPort := freeUDP(t)
	d := startTandem(t, daemonOptions{trunkPort: uasPort})
	a := newApp(t)
	dir := t.TempDir()
	uas := startUAS(t, uasOptions{Mode: "answer", Port: uasPort, InviteFile: filepath.Join(dir, "invite.log")}, 1)
	a.on("/voice", `<Response><Redirect method="GET">/second?step=2</Redirect></Response>`)
	a.on("/second", `<Response><Dial callerId="+14155550123"><Number>+15555550142</Number></Dial></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "bye", Hold: 300 * time.Millisecond, Headers: []string{"X-CustomerID: 77"}})
	mustSucceed(t, "caller", uac)
	mustSucceed(t, "callee", uas)
	second := a.wait("/second", 1, 5*time.Second)[0]
	if second.Method != "GET" || second.Form.Get("step") != "2" || second.Form.Get("CallSid") == "" {
		t.Errorf("redirect request: %s %v", second.Method, second.Form)
	}
	if !second.SignatureOK {
		t.Error("GET redirect: bad signature")
	}
	log, err := os.ReadFile(filepath.Join(dir, "invite.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "+14155550123") {
		t.Errorf("the trunk INVITE does not carry the callerId in From: %s", log)
	}
}

// TestReject: <Reject> answers the carrier 486 for busy, 603 for rejected,
// and the call never answers.
func TestReject(t *testing.T) {
	for _, c := range []struct {
		reason string
		code   int
		status string
	}{{"busy", 486, "busy"}, {"rejected", 603, "no-answer"}} {
		t.Run(c.reason, func(t *testing.T) {
			d := startTandem(t, daemonOptions{})
			a := newApp(t)
			a.on("/voice", `<Response><Reject reason="`+c.reason+`"/></Response>`)
			provision(t, d, a, "/voice", nil)
			mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "code", Code: c.code}))
			calls := waitRecords(t, d, 1)
			if str(calls[0].Status) != c.status {
				t.Errorf("status %s, want %s", str(calls[0].Status), c.status)
			}
		})
	}
}

// TestFallbackURL: the voice URL answers 500; the fallback URL is requested
// with ErrorCode and ErrorUrl and its TwiML runs.
func TestFallbackURL(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	a.onFunc("/voice", func(hookRequest) reply { return reply{status: 500, ctype: "text/plain", body: "boom"} })
	a.on("/fallback", `<Response><Reject reason="busy"/></Response>`)
	provision(t, d, a, "/voice", func(p *openapi.CreateApplicationParams) {
		p.SetVoiceFallbackUrl(a.url("/fallback"))
		p.SetVoiceFallbackMethod("POST")
	})
	mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "code", Code: 486}))
	fb := a.wait("/fallback", 1, 5*time.Second)[0]
	expectParams(t, fb, map[string]string{"ErrorCode": "11200", "ErrorUrl": a.url("/voice")})
	if !fb.SignatureOK {
		t.Error("fallback: bad signature")
	}
}

// TestUnknownNumberIs404 and a webhook that fails without a fallback.
func TestUnroutableInbound(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	a.onFunc("/voice", func(hookRequest) reply { return reply{status: 503, ctype: "text/plain", body: "down"} })
	provision(t, d, a, "/voice", nil)
	mustSucceed(t, "unknown number", startUAC(t, d, uacOptions{Service: "+14155550000", End: "code", Code: 404}))
	mustSucceed(t, "webhook down", startUAC(t, d, uacOptions{Service: inboundNumber, End: "code", Code: 500}))
	calls := waitRecords(t, d, 1)
	if len(calls) != 1 || str(calls[0].Status) != "failed" {
		t.Errorf("records: %+v", calls)
	}
}

// TestRESTCallRedirectedThenHungUp: a call created through the API rings a
// SIPp callee, runs its Url's TwiML once answered, is redirected mid-call
// with Twiml, then hung up with Status=completed; its status callbacks come
// in order.
func TestRESTCallRedirectedThenHungUp(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	uas := startUAS(t, uasOptions{Mode: "answer", AnswerDelay: 200 * time.Millisecond}, 1)
	a.on("/rest-voice", `<Response><Pause length="60"/></Response>`)
	a.on("/after-redirect", `<Response><Pause length="60"/></Response>`)

	p := &openapi.CreateCallParams{}
	p.SetTo("sip:bob@" + uas.Addr().String() + "?X-Ticket=T-1")
	p.SetFrom(callerNumber)
	p.SetUrl(a.url("/rest-voice?campaign=7"))
	p.SetStatusCallback(a.url("/status/rest"))
	p.SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"})
	call, err := d.client.Api.CreateCall(p)
	if err != nil {
		t.Fatalf("create call: %v", err)
	}
	if str(call.Status) != "queued" || str(call.Direction) != "outbound-api" {
		t.Errorf("created call: status %s direction %s, want queued outbound-api", str(call.Status), str(call.Direction))
	}
	sid := str(call.Sid)
	voice := a.wait("/rest-voice", 1, 10*time.Second)[0]
	expectParams(t, voice, map[string]string{"CallSid": sid, "CallStatus": "in-progress", "Direction": "outbound-api", "From": callerNumber})
	if voice.Query.Get("campaign") != "7" || !voice.SignatureOK {
		t.Errorf("the Url's own query string was not kept (or the signature over it fails): %s", voice.URL)
	}

	up := &openapi.UpdateCallParams{}
	up.SetTwiml(`<Response><Redirect>` + a.url("/after-redirect") + `</Redirect></Response>`)
	if _, err := d.client.Api.UpdateCall(sid, up); err != nil {
		t.Fatalf("redirect with Twiml: %v", err)
	}
	a.wait("/after-redirect", 1, 5*time.Second)

	hang := &openapi.UpdateCallParams{}
	hang.SetStatus("completed")
	rec, err := d.client.Api.UpdateCall(sid, hang)
	if err != nil {
		t.Fatalf("hang up: %v", err)
	}
	if str(rec.Status) != "completed" {
		t.Errorf("after Status=completed the call is %s", str(rec.Status))
	}
	mustSucceed(t, "callee", uas)

	cbs := a.wait("/status/rest", 4, 5*time.Second)
	var got []string
	for i, r := range cbs {
		got = append(got, r.Form.Get("CallStatus"))
		if r.Form.Get("SequenceNumber") != strconv.Itoa(i) {
			t.Errorf("callback %d: SequenceNumber %s", i, r.Form.Get("SequenceNumber"))
		}
	}
	if strings.Join(got, ",") != "initiated,ringing,in-progress,completed" {
		t.Errorf("callbacks %v", got)
	}
	expectParams(t, cbs[3], map[string]string{"SipResponseCode": "200", "Direction": "outbound-api"})
	if cbs[3].Form.Get("Duration") == "" {
		t.Error("completed callback of a REST call lacks Duration (billed minutes)")
	}
	fetched, err := d.client.Api.FetchCall(sid, &openapi.FetchCallParams{})
	if err != nil {
		t.Fatal(err)
	}
	if str(fetched.Status) != "completed" || str(fetched.EndTime) == "" {
		t.Errorf("fetched record: status %s end %s", str(fetched.Status), str(fetched.EndTime))
	}
}
