package control

import (
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"tandem/control/store"
)

func TestCallsListFetchDeleteFromRecords(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tw := e.mainClient(t)
	day1 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	mk := func(to, status string, start time.Time) store.Call {
		return store.Call{SID: store.NewSID("CA"), AccountSID: e.main.SID, Direction: "inbound",
			From: "+14155550100", To: to, Status: status, StartTime: start, APIVersion: "2010-04-01"}
	}
	a := mk("+14155550199", store.CallCompleted, day1)
	a.EndTime, a.Duration = day1.Add(42*time.Second), sql.Null[int64]{V: 42, Valid: true}
	a.QueueTime = sql.Null[int64]{V: 7, Valid: true}
	a.SIPCallID, a.CallerName, a.AnsweredBy = "abc@host", "ALICE", "human"
	b := mk("sip:bob@example.com", store.CallBusy, day2)
	b.EndTime = day2.Add(time.Second)
	child := mk("+14155550111", store.CallCompleted, day2)
	child.ParentCallSID, child.Direction, child.EndTime = a.SID, "outbound-dial", day2.Add(time.Minute)
	live := mk("+14155550122", store.CallInProgress, day2)
	var others []store.Call
	for range 4 {
		others = append(others, mk("+14155550133", store.CallNoAnswer, day1.Add(time.Hour)))
	}
	foreign := mk("+14155550199", store.CallCompleted, day1)
	foreign.AccountSID = store.NewSID("AC")
	if err := e.st.SaveCalls(ctx, append([]store.Call{a, b, child, live, foreign}, others...)); err != nil {
		t.Fatal(err)
	}

	got, err := tw.Api.FetchCall(a.SID, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"sid", deref(got.Sid), a.SID},
		{"status", deref(got.Status), "completed"},
		{"duration", deref(got.Duration), "42"},
		{"queue_time", deref(got.QueueTime), "7"},
		{"start_time", deref(got.StartTime), "Fri, 01 Mar 2024 10:00:00 +0000"},
		{"end_time", deref(got.EndTime), "Fri, 01 Mar 2024 10:00:42 +0000"},
		{"to_formatted", deref(got.ToFormatted), "(415) 555-0199"},
		{"direction", deref(got.Direction), "inbound"},
		{"caller_name", deref(got.CallerName), "ALICE"},
		{"answered_by", deref(got.AnsweredBy), "human"},
		{"price null", got.Price == nil, true},
		{"parent null", got.ParentCallSid == nil, true},
		{"uri", deref(got.Uri), acctPath(e.main.SID, "/Calls/"+a.SID+".json")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if (*got.SubresourceUris)["recordings"] != acctPath(e.main.SID, "/Calls/"+a.SID+"/Recordings.json") {
		t.Errorf("subresource_uris = %v", *got.SubresourceUris)
	}
	r := e.asMain(t, http.MethodGet, acctPath(e.main.SID, "/Calls/"+b.SID+".json"), nil)
	if r.body["duration"] != nil || r.body["price"] != nil || r.body["to"] != "sip:bob@example.com" {
		t.Errorf("busy call JSON = %v", r.body)
	}
	if _, err := tw.Api.FetchCall(foreign.SID, nil); restErr(t, err).Code != 20404 {
		t.Error("another account's call is visible")
	}

	sidsOf := func(cs []api.ApiV2010Call) []string {
		var out []string
		for _, c := range cs {
			out = append(out, deref(c.Sid))
		}
		return out
	}
	list := func(p *api.ListCallParams) []string {
		t.Helper()
		cs, err := tw.Api.ListCall(p.SetPageSize(2))
		if err != nil {
			t.Fatal(err)
		}
		return sidsOf(cs)
	}
	var allSids []string
	for _, c := range slices.Backward(append([]store.Call{a, b, child, live}, others...)) {
		allSids = append(allSids, c.SID)
	}
	cases := []struct {
		name string
		p    *api.ListCallParams
		want []string
	}{
		{"all, newest first, over several pages", new(api.ListCallParams), allSids},
		{"To", new(api.ListCallParams).SetTo("sip:bob@example.com"), []string{b.SID}},
		{"From and Status", new(api.ListCallParams).SetFrom("+14155550100").SetStatus("in-progress"), []string{live.SID}},
		{"ParentCallSid", new(api.ListCallParams).SetParentCallSid(a.SID), []string{child.SID}},
		{"StartTime (a day)", new(api.ListCallParams).SetStartTime(day2.Truncate(24 * time.Hour)).SetStatus("completed"), []string{child.SID}},
		{"StartTime> (on or after)", new(api.ListCallParams).SetStartTimeAfter(day2.Truncate(24 * time.Hour)), []string{live.SID, child.SID, b.SID}},
		{"StartTime< (before)", new(api.ListCallParams).SetStartTimeBefore(day1.Add(30 * time.Minute)), []string{a.SID}},
		{"EndTime (a day)", new(api.ListCallParams).SetEndTime(day1), []string{a.SID}},
		{"EndTime> and EndTime<", new(api.ListCallParams).SetEndTimeAfter(day2).SetEndTimeBefore(day2.Add(30 * time.Second)), []string{b.SID}},
	}
	for _, c := range cases {
		if got := list(c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Dates as YYYY-MM-DD (Twilio's documented form) over raw HTTP.
	r = e.asMain(t, http.MethodGet, acctPath(e.main.SID, "/Calls.json"), map[string][]string{"StartTime": {"2024-03-01"}, "Status": {"completed"}})
	if calls, _ := r.body["calls"].([]any); len(calls) != 1 || calls[0].(map[string]any)["sid"] != a.SID {
		t.Errorf("StartTime=2024-03-01 = %v", r.body)
	}

	if err := tw.Api.DeleteCall(b.SID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Api.FetchCall(b.SID, nil); restErr(t, err).Code != 20404 {
		t.Error("deleted call still fetched")
	}
	if re := restErr(t, tw.Api.DeleteCall(live.SID, nil)); re.Code != CodeCallNotInProgress {
		t.Errorf("delete live call = %+v", re)
	}
}

func TestCallsCreateAndUpdateThroughSwitch(t *testing.T) {
	e := newEnv(t)
	tw := e.mainClient(t)

	c, err := tw.Api.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").
		SetUrl("https://example.com/answer").SetMethod("GET").SetStatusCallback("https://example.com/status").
		SetStatusCallbackEvent([]string{"initiated", "answered", "completed"}).SetTimeout(25).
		SetSendDigits("W1234#").SetRecord(true).SetMachineDetection("Enable").SetCallerId("+14155550100"))
	if err != nil {
		t.Fatal(err)
	}
	if deref(c.Status) != "queued" || deref(c.Direction) != "outbound-api" || deref(c.AccountSid) != e.main.SID {
		t.Errorf("created call = %+v", c)
	}
	req, _ := e.calls.last()
	if req.AccountSID != e.main.SID || req.URL != "https://example.com/answer" || req.Method != "GET" ||
		req.Timeout != 25*time.Second || req.TimeLimit != 4*time.Hour || req.SendDigits != "W1234#" ||
		!slices.Equal(req.StatusCallbackEvents, []string{"initiated", "answered", "completed"}) ||
		req.StatusCallbackMethod != "POST" || req.Form.Get("MachineDetection") != "Enable" || req.Form.Get("Record") != "true" ||
		req.CallerID != "+14155550100" || req.Application != nil || req.Twiml != "" {
		t.Errorf("CallRequest = %+v", req)
	}

	doc := `<Response><Say>hello</Say></Response>`
	if _, err := tw.Api.CreateCall(new(api.CreateCallParams).SetTo("client:alice").SetFrom("client:bob").SetTwiml(doc).
		SetSipAuthUsername("bob").SetSipAuthPassword("s3cret")); err != nil {
		t.Fatal(err)
	}
	if req, _ = e.calls.last(); req.Twiml != doc || req.StatusCallbackEvents[0] != "completed" || req.SIPAuthUsername != "bob" {
		t.Errorf("Twiml CallRequest = %+v", req)
	}

	// ApplicationSid: the account's own, or another account's public one.
	own, _ := tw.Api.CreateApplication(new(api.CreateApplicationParams).SetVoiceUrl("https://example.com/own"))
	sub, _ := tw.Api.CreateAccount(nil)
	subClient := e.twilio(t, deref(sub.Sid), deref(sub.AuthToken))
	public, _ := subClient.Api.CreateApplication(new(api.CreateApplicationParams).SetVoiceUrl("https://example.com/pub").SetPublicApplicationConnectEnabled(true))
	private, _ := subClient.Api.CreateApplication(new(api.CreateApplicationParams).SetVoiceUrl("https://example.com/priv"))
	for _, app := range []*api.ApiV2010Application{own, public} {
		if _, err := tw.Api.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").SetApplicationSid(deref(app.Sid))); err != nil {
			t.Fatalf("call with %s: %v", deref(app.Sid), err)
		}
		if req, _ = e.calls.last(); req.Application == nil || req.Application.SID != deref(app.Sid) || req.Application.VoiceURL != deref(app.VoiceUrl) {
			t.Errorf("resolved application = %+v", req.Application)
		}
	}
	_, err = tw.Api.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").SetApplicationSid(deref(private.Sid)))
	if re := restErr(t, err); re.Code != CodeInvalidAppSID {
		t.Errorf("private application of another account = %+v", re)
	}

	// Update: redirect and hang up, and the switch's own errors.
	callSID := deref(c.Sid)
	up, err := tw.Api.UpdateCall(callSID, new(api.UpdateCallParams).SetUrl("https://example.com/next").SetMethod("POST"))
	if err != nil || deref(up.Sid) != callSID {
		t.Fatalf("redirect = %+v, %v", up, err)
	}
	if _, u := e.calls.last(); u.CallSID != callSID || u.AccountSID != e.main.SID || u.URL != "https://example.com/next" || u.Status != "" {
		t.Errorf("CallUpdate = %+v", u)
	}
	up, err = tw.Api.UpdateCall(callSID, new(api.UpdateCallParams).SetStatus("completed"))
	if err != nil || deref(up.Status) != "completed" {
		t.Fatalf("hang up = %+v, %v", up, err)
	}
	if _, err := tw.Api.UpdateCall(callSID, new(api.UpdateCallParams).SetTwiml("<Response><Hangup/></Response>").SetTimeLimit(30)); err != nil {
		t.Fatal(err)
	}
	if _, u := e.calls.last(); u.Twiml == "" || u.TimeLimit != 30*time.Second {
		t.Errorf("Twiml CallUpdate = %+v", u)
	}

	e.calls.setErr(switchError{status: 400, code: CodeCallNotInProgress, msg: "Call is not in-progress. Cannot redirect."})
	_, err = tw.Api.UpdateCall(callSID, new(api.UpdateCallParams).SetUrl("https://example.com/late"))
	if re := restErr(t, err); re.Status != 400 || re.Code != 21220 || re.Message != "Call is not in-progress. Cannot redirect." {
		t.Errorf("switch 21220 = %+v", re)
	}
	e.calls.setErr(errors.New("sip stack exploded"))
	_, err = tw.Api.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").SetUrl("https://example.com/"))
	if re := restErr(t, err); re.Status != 500 || re.Code != CodeInternal || re.Message != "Internal Server Error" {
		t.Errorf("unclassified switch error = %+v", re)
	}
	e.calls.setErr(nil)

	// A subaccount cannot reach its parent's call record.
	foreign := store.Call{SID: store.NewSID("CA"), AccountSID: e.main.SID, Status: store.CallInProgress}
	if err := e.st.SaveCalls(t.Context(), []store.Call{foreign}); err != nil {
		t.Fatal(err)
	}
	_, err = subClient.Api.UpdateCall(foreign.SID, new(api.UpdateCallParams).SetStatus("completed"))
	if re := restErr(t, err); re.Code != 20404 {
		t.Errorf("subaccount updated parent's call: %+v", re)
	}
	if _, u := e.calls.last(); u.CallSID == foreign.SID {
		t.Error("the switch was asked to act on another account's call")
	}
}

func TestCallsWithoutSwitch(t *testing.T) {
	e := newEnv(t, withoutSwitch())
	tw := e.mainClient(t)
	_, err := tw.Api.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").SetUrl("https://example.com/"))
	if re := restErr(t, err); re.Status != http.StatusServiceUnavailable || re.Code != CodeServiceUnavailable {
		t.Errorf("create without switch = %+v", re)
	}
	_, err = tw.Api.UpdateCall(store.NewSID("CA"), new(api.UpdateCallParams).SetStatus("completed"))
	if re := restErr(t, err); re.Status != http.StatusServiceUnavailable {
		t.Errorf("update without switch = %+v", re)
	}
	// Validation still comes first.
	_, err = tw.Api.CreateCall(new(api.CreateCallParams).SetFrom("+14155550100").SetUrl("https://example.com/"))
	if re := restErr(t, err); re.Code != CodeToRequired {
		t.Errorf("invalid create without switch = %+v", re)
	}
}
