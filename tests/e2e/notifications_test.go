package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// notifications waits for n notifications of a call and returns them.
func notifications(t *testing.T, d *tandem, callSid string, n int) []openapi.ApiV2010CallNotification {
	t.Helper()
	var ns []openapi.ApiV2010CallNotification
	waitUntil(t, 5*time.Second, "notifications of "+callSid, func() bool {
		var err error
		ns, err = d.client.Api.ListCallNotification(callSid, &openapi.ListCallNotificationParams{})
		return err == nil && len(ns) >= n
	})
	return ns
}

func messageOf(n openapi.ApiV2010CallNotification) url.Values {
	v, _ := url.ParseQuery(str(n.MessageText))
	return v
}

// TestBrokenTwiMLEndsTheCallAndIsRecordedWithItsLine: a document that is
// not well-formed XML ends an unanswered call (500 to the carrier, as an
// application error) and error 12100 with its line is listed under the call.
func TestBrokenTwiMLEndsTheCallAndIsRecordedWithItsLine(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	a.on("/voice", "<Response>\n<Dial>\n<Number>+15551234567</Number>\n</Response>\n")
	provision(t, d, a, "/voice", nil)
	mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "code", Code: 500}))
	sid := a.wait("/voice", 1, 5*time.Second)[0].Form.Get("CallSid")
	ns := notifications(t, d, sid, 1)
	n := ns[0]
	if str(n.ErrorCode) != "12100" || str(n.Log) != "0" || str(n.CallSid) != sid {
		t.Errorf("notification: code %s log %s call %s", str(n.ErrorCode), str(n.Log), str(n.CallSid))
	}
	if msg := messageOf(n); msg.Get("LineNumber") != "4" || msg.Get("Msg") == "" {
		t.Errorf("message_text %q: want Msg and LineNumber=4", str(n.MessageText))
	}
	if !strings.HasSuffix(str(n.MoreInfo), "/12100") {
		t.Errorf("more_info %q", str(n.MoreInfo))
	}
	calls := waitRecords(t, d, 1)
	if str(calls[0].Status) != "failed" {
		t.Errorf("call status %s, want failed", str(calls[0].Status))
	}
}

// TestWarningsAreRecordedOnTheCall: a verb tandem skips (12200 with its
// line) and custom parameters over the 800-byte guideline are warnings; the
// call goes on.
func TestWarningsAreRecordedOnTheCall(t *testing.T) {
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	target := createApp(t, d, a, "", "/target", false)
	a.on("/target", `<Response><Hangup/></Response>`)
	big := strings.Repeat("x", 820)
	a.on("/voice", "<Response>\n<Say>Hello</Say>\n<Dial><Application><ApplicationSid>"+target+"</ApplicationSid><Parameter name=\"Big\" value=\""+big+"\"/></Application></Dial>\n</Response>")
	provision(t, d, a, "/voice", nil)
	mustSucceed(t, "caller", startUAC(t, d, uacOptions{Service: inboundNumber, End: "wait"}))
	if got := a.wait("/target", 1, 5*time.Second)[0].Form.Get("Param_Big"); got != big {
		t.Errorf("the large parameter was not delivered whole (%d bytes)", len(got))
	}
	sid := a.wait("/voice", 1, 5*time.Second)[0].Form.Get("CallSid")
	ns := notifications(t, d, sid, 2)
	var sawSay, sawSize bool
	for _, n := range ns {
		if str(n.Log) != "1" {
			t.Errorf("notification %s is not a warning (log %s)", str(n.ErrorCode), str(n.Log))
		}
		msg := messageOf(n)
		switch {
		case str(n.ErrorCode) == "12200" && strings.Contains(msg.Get("Msg"), "<Say>"):
			sawSay = msg.Get("LineNumber") == "2"
		case strings.Contains(msg.Get("Msg"), "800-byte"):
			sawSize = true
		}
	}
	if !sawSay || !sawSize {
		t.Errorf("want a 12200 for <Say> at line 2 and a custom-parameter size warning; got %+v", ns)
	}
	// Filtering by log level works through the client too.
	lvl := 0
	errs, err := d.client.Api.ListCallNotification(sid, &openapi.ListCallNotificationParams{Log: &lvl})
	if err != nil || len(errs) != 0 {
		t.Errorf("errors only: %d (%v)", len(errs), err)
	}
}
