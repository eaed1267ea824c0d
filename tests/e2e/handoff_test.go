package e2e

import (
	"sync/atomic"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// createApp creates an application (in account, or the main account when
// empty) whose VoiceUrl is path on the app server.
func createApp(t *testing.T, d *tandem, a *app, account, path string, public bool) string {
	t.Helper()
	p := &openapi.CreateApplicationParams{}
	if account != "" {
		p.SetPathAccountSid(account)
	}
	p.SetFriendlyName("handoff " + path)
	p.SetVoiceUrl(a.url(path))
	p.SetPublicApplicationConnectEnabled(public)
	ap, err := d.client.Api.CreateApplication(p)
	if err != nil {
		t.Fatalf("create application: %v", err)
	}
	return *ap.Sid
}

// labelled reads a labelled counter from /metrics.
func (d *tandem) labelled(name, label string) float64 {
	v, ok := d.metric(name + "{" + label + "}")
	if !ok {
		d.t.Errorf("metric %s{%s} missing", name, label)
	}
	return v
}

// handoffInvariants returns a checker, to call inside the target
// application's handler, that no new SIP leg and no new media endpoint
// exist during a hand-off.
func handoffInvariants(t *testing.T, d *tandem) func() {
	invitesBefore := d.labelled("tandem_sip_requests_out_total", `method="INVITE"`)
	return func() {
		if n := d.labelled("tandem_sip_requests_out_total", `method="INVITE"`); n != invitesBefore {
			t.Errorf("a hand-off sent %v INVITE(s)", n-invitesBefore)
		}
		if legs, _ := d.metric("tandem_media_legs"); legs != 1 {
			t.Errorf("during a hand-off the media core has %v legs, want 1 (the caller's)", legs)
		}
	}
}

// TestApplicationHandoffWithinAccount: <Dial><Application> with Parameters
// in and ReturnParam_ out, through <Hangup> and through <Reject>, on the
// caller's own leg.
func TestApplicationHandoffWithinAccount(t *testing.T) {
	for _, c := range []struct {
		name, target, status string
		params               map[string]string
	}{
		{"hangup", `<Response><Hangup><Parameter name="Result" value="paid"/><Parameter name="Amount" value="12.50"/></Hangup></Response>`, "completed", map[string]string{"ReturnParam_Result": "paid", "ReturnParam_Amount": "12.50"}},
		{"reject busy", `<Response><Reject reason="busy"><Parameter name="Why" value="closed"/></Reject></Response>`, "busy", map[string]string{"ReturnParam_Why": "closed"}},
		{"reject", `<Response><Reject><Parameter name="Why" value="nobody"/></Reject></Response>`, "no-answer", map[string]string{"ReturnParam_Why": "nobody"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := startTandem(t, daemonOptions{})
			a := newApp(t)
			target := createApp(t, d, a, "", "/target", false)
			check := handoffInvariants(t, d)
			var checked atomic.Bool
			a.onFunc("/target", func(r hookRequest) reply {
				check()
				checked.Store(true)
				return twimlReply(c.target)
			})
			a.on("/voice", `<Response><Dial action="/handoff-done"><Application><ApplicationSid>`+target+`</ApplicationSid>`+
				`<Parameter name="AccountNumber" value="12345"/><Parameter name="Tier" value="gold"/></Application></Dial></Response>`)
			a.on("/handoff-done", `<Response><Hangup/></Response>`)
			provision(t, d, a, "/voice", nil)
			mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, From: callerNumber, End: "wait"}))

			voice := a.wait("/voice", 1, 5*time.Second)[0]
			tr := a.wait("/target", 1, 5*time.Second)[0]
			if !checked.Load() {
				t.Fatal("target handler did not run")
			}
			expectParams(t, tr, map[string]string{
				"Param_AccountNumber": "12345", "Param_Tier": "gold",
				"ParentCallSid": voice.Form.Get("CallSid"), "Direction": "outbound-dial",
				"From": callerNumber, "To": target, "AccountSid": testAccountSID,
				"CustomerId": testAccountSID,
			})
			if tr.Form.Get("CallSid") == voice.Form.Get("CallSid") || !tr.SignatureOK {
				t.Errorf("hand-off request: CallSid %s (parent %s), signature ok %v", tr.Form.Get("CallSid"), voice.Form.Get("CallSid"), tr.SignatureOK)
			}
			done := a.wait("/handoff-done", 1, 5*time.Second)[0]
			want := map[string]string{"DialCallStatus": c.status, "DialCallSid": tr.Form.Get("CallSid")}
			for k, v := range c.params {
				want[k] = v
			}
			expectParams(t, done, want)
			if done.Form.Get("DialCallDuration") == "" {
				t.Error("no DialCallDuration")
			}
			calls := waitRecords(t, d, 2)
			if child := byDirection(calls, "outbound-dial"); len(child) != 1 || str(child[0].ParentCallSid) != voice.Form.Get("CallSid") {
				t.Errorf("hand-off child record: %+v", child)
			}
		})
	}
}

// TestApplicationHandoffAcrossAccounts: another account's application is
// refused until PublicApplicationConnectEnabled is set (through twilio-go);
// then its request is signed with its own account's token and the usage
// is recorded on that account.
func TestApplicationHandoffAcrossAccounts(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	sp := &openapi.CreateAccountParams{}
	sp.SetFriendlyName("tenant")
	sub, err := d.client.Api.CreateAccount(sp)
	if err != nil {
		t.Fatal(err)
	}
	a.trust(*sub.Sid, *sub.AuthToken)
	target := createApp(t, d, a, *sub.Sid, "/tenant", false)
	a.on("/tenant", `<Response><Hangup><Parameter name="Tenant" value="yes"/></Hangup></Response>`)
	a.on("/voice", `<Response><Dial action="/handoff-done"><Application><ApplicationSid>`+target+`</ApplicationSid></Application></Dial></Response>`)
	a.on("/handoff-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)

	mustSucceed(t, "refused call", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))
	expectParams(t, a.wait("/handoff-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "failed"})
	if n := len(a.requestsTo("/tenant")); n != 0 {
		t.Fatalf("the other account's application was requested %d times without PublicApplicationConnectEnabled", n)
	}
	calls := waitRecords(t, d, 1)
	in := byDirection(calls, "inbound")
	if len(in) != 1 || str(in[0].Status) != "completed" {
		t.Fatalf("inbound record %+v", in)
	}

	up := &openapi.UpdateApplicationParams{}
	up.SetPathAccountSid(*sub.Sid)
	up.SetPublicApplicationConnectEnabled(true)
	if _, err := d.client.Api.UpdateApplication(target, up); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, "allowed call", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))
	tr := a.wait("/tenant", 1, 5*time.Second)[0]
	if tr.Form.Get("AccountSid") != *sub.Sid || !tr.SignatureOK {
		t.Errorf("tenant request: AccountSid %s (want %s), signed with the tenant's token: %v", tr.Form.Get("AccountSid"), *sub.Sid, tr.SignatureOK)
	}
	done := a.wait("/handoff-done", 2, 5*time.Second)[1]
	expectParams(t, done, map[string]string{"DialCallStatus": "completed", "ReturnParam_Tenant": "yes"})
	// The child's minutes are on the receiving account.
	lp := &openapi.ListCallParams{}
	lp.SetPathAccountSid(*sub.Sid)
	var subCalls []openapi.ApiV2010Call
	waitUntil(t, 5*time.Second, "the tenant's call record", func() bool {
		subCalls, err = d.client.Api.ListCall(lp)
		return err == nil && len(subCalls) == 1 && str(subCalls[0].Status) == "completed"
	})
	if str(subCalls[0].Sid) != tr.Form.Get("CallSid") || str(subCalls[0].Duration) == "" {
		t.Errorf("tenant's record %+v", subCalls[0])
	}
}

// TestApplicationCopyParentTo: To is the parent's To with
// copyParentTo="true", the application's SID without it.
func TestApplicationCopyParentTo(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	target := createApp(t, d, a, "", "/target", false)
	a.on("/target", `<Response><Hangup/></Response>`)
	a.onFunc("/voice", func(r hookRequest) reply {
		copyTo := "false"
		if len(a.requestsTo("/voice")) == 1 {
			copyTo = "true"
		}
		return twimlReply(`<Response><Dial><Application copyParentTo="` + copyTo + `">` + target + `</Application></Dial></Response>`)
	})
	provision(t, d, a, "/voice", nil)
	mustSucceed(t, "first", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))
	mustSucceed(t, "second", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))
	rs := a.wait("/target", 2, 5*time.Second)
	if rs[0].Form.Get("To") != inboundNumber {
		t.Errorf("copyParentTo=true: To=%s, want %s", rs[0].Form.Get("To"), inboundNumber)
	}
	if rs[1].Form.Get("To") != target {
		t.Errorf("copyParentTo=false: To=%s, want %s", rs[1].Form.Get("To"), target)
	}
}

// TestApplicationChainAndLoop: A → B → C with values returned at each step;
// a hand-off back to an application already in the chain is refused.
func TestApplicationChainAndLoop(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	appB := createApp(t, d, a, "", "/b", false)
	appC := createApp(t, d, a, "", "/c", false)
	appA := provision(t, d, a, "/a", nil)
	a.on("/a", `<Response><Dial action="/a-done"><Application><ApplicationSid>`+appB+`</ApplicationSid><Parameter name="from" value="A"/></Application></Dial></Response>`)
	a.on("/b", `<Response><Dial action="/b-done"><Application><ApplicationSid>`+appC+`</ApplicationSid><Parameter name="from" value="B"/></Application></Dial></Response>`)
	a.on("/c", `<Response><Dial action="/c-done"><Application><ApplicationSid>`+appA+`</ApplicationSid></Application></Dial></Response>`)
	a.on("/c-done", `<Response><Hangup><Parameter name="c" value="3"/></Hangup></Response>`)
	a.onFunc("/b-done", func(r hookRequest) reply {
		return twimlReply(`<Response><Hangup><Parameter name="b" value="2"/><Parameter name="sawC" value="` + r.Form.Get("ReturnParam_c") + `"/></Hangup></Response>`)
	})
	a.on("/a-done", `<Response><Hangup/></Response>`)
	mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))

	b := a.wait("/b", 1, 5*time.Second)[0]
	c := a.wait("/c", 1, 5*time.Second)[0]
	expectParams(t, b, map[string]string{"Param_from": "A"})
	expectParams(t, c, map[string]string{"Param_from": "B", "ParentCallSid": b.Form.Get("CallSid")})
	// C's hand-off back to A closes a loop: refused, C's action says failed.
	expectParams(t, a.wait("/c-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "failed"})
	if n := len(a.requestsTo("/a")); n != 1 {
		t.Errorf("the loop reached A again (%d requests)", n)
	}
	expectParams(t, a.wait("/b-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed", "ReturnParam_c": "3"})
	expectParams(t, a.wait("/a-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed", "ReturnParam_b": "2", "ReturnParam_sawC": "3"})
	calls := waitRecords(t, d, 3)
	if len(byDirection(calls, "outbound-dial")) != 2 {
		t.Errorf("want 2 hand-off records (B and C), got %+v", calls)
	}
}

// TestApplicationHandoffDialsOut: the target application itself dials a
// SIP callee; the media path is the caller's leg bridged to the callee.
func TestApplicationHandoffDialsOut(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	uas := startUAS(t, uasOptions{Mode: "answer", End: "bye", Hold: 300 * time.Millisecond}, 1)
	target := createApp(t, d, a, "", "/target", false)
	a.on("/target", `<Response><Dial action="/target-done"><Sip>sip:agent@`+uas.Addr().String()+`</Sip></Dial></Response>`)
	a.on("/target-done", `<Response><Hangup><Parameter name="agent" value="spoke"/></Hangup></Response>`)
	a.on("/voice", `<Response><Dial action="/done" answerOnBridge="true"><Application>`+target+`</Application></Dial></Response>`)
	a.on("/done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)
	mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))
	mustSucceed(t, "agent", uas)
	expectParams(t, a.wait("/target-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed", "DialBridged": "true"})
	expectParams(t, a.wait("/done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed", "ReturnParam_agent": "spoke"})
}
