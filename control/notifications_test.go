package control

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"tandem/control/store"
)

// notesFixture is what the call path would have recorded, written through
// the real batching writer into the env's SQLite file.
type notesFixture struct {
	callA, callB, subCall store.Call
	// On callA: a schema warning with its line (day 1), a webhook failure
	// (day 1), an invalid attribute warning (day 2). On callB: one warning.
	// On the account, no call: one error.
	schema, fetch, attr, onB, acctLevel store.Notification
	sub                                 store.Account
	subNote                             store.Notification
}

var (
	noteDay1 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	noteDay2 = noteDay1.Add(24 * time.Hour)
)

func writeNotes(t *testing.T, e *env) notesFixture {
	t.Helper()
	ctx := t.Context()
	sub := store.Account{SID: store.NewSID("AC"), OwnerSID: e.main.SID, FriendlyName: "sub",
		Status: store.AccountActive, Type: "Full", AuthToken: store.NewAuthToken(), DateCreated: t0, DateUpdated: t0}
	if err := e.st.CreateAccount(ctx, sub); err != nil {
		t.Fatal(err)
	}
	call := func(acct string) store.Call {
		return store.Call{SID: store.NewSID("CA"), AccountSID: acct, Direction: "inbound", From: "+14155550100",
			To: "+14155550199", Status: store.CallCompleted, StartTime: noteDay1, EndTime: noteDay1.Add(time.Minute),
			APIVersion: "2010-04-01"}
	}
	note := func(c store.Call, log, code int, text string, at time.Time) store.Notification {
		return store.Notification{SID: store.NewSID("NO"), AccountSID: c.AccountSID, CallSID: c.SID,
			APIVersion: "2010-04-01", ErrorCode: code, Log: log, MessageText: text, MessageDate: at,
			RequestMethod: "POST", RequestURL: "https://app.example.com/answer",
			RequestVariables: "CallSid=" + c.SID + "&CallStatus=ringing",
			ResponseBody:     "<Response>\n<Say voice=\"robot\">hi</Say>\n</Response>",
			ResponseHeaders:  "Content-Type=text%2Fxml"}
	}
	f := notesFixture{callA: call(e.main.SID), callB: call(e.main.SID), subCall: call(sub.SID), sub: sub}
	f.schema = note(f.callA, store.NotificationWarning, 12200,
		"Msg=Attribute 'voice' has an invalid value 'robot'&LineNumber=2", noteDay1)
	f.fetch = note(f.callA, store.NotificationError, 11200, "Msg=HTTP retrieval failure", noteDay1.Add(time.Minute))
	f.fetch.ResponseHeaders = "" // may be empty
	f.attr = note(f.callA, store.NotificationWarning, 13221, "Msg=Invalid method", noteDay2)
	f.onB = note(f.callB, store.NotificationWarning, 12200, "Msg=Custom parameters over 500 characters", noteDay2)
	f.acctLevel = note(store.Call{AccountSID: e.main.SID}, store.NotificationError, 21220, "Msg=Call is not in-progress", noteDay2.Add(time.Hour))
	f.acctLevel.RequestURL, f.acctLevel.RequestMethod, f.acctLevel.RequestVariables, f.acctLevel.ResponseBody = "", "", "", ""
	f.subNote = note(f.subCall, store.NotificationWarning, 12200, "Msg=sub's", noteDay1)

	w, err := store.NewCallWriter(e.st, store.DefaultCallWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Call{f.callA, f.callB, f.subCall} {
		if err := w.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []store.Notification{f.schema, f.fetch, f.attr, f.onB, f.acctLevel, f.subNote} {
		if err := w.SaveNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil { // writes everything queued
		t.Fatal(err)
	}
	if st := w.Stats(); st.NotificationsSaved != 6 || st.Saved != 3 {
		t.Fatalf("writer stats = %+v", st)
	}
	return f
}

func TestNotificationsThroughTwilioGo(t *testing.T) {
	e := newEnv(t)
	f := writeNotes(t, e)
	tw := e.mainClient(t)

	// The Call's subresource_uris.notifications is the call's list.
	c, err := tw.Api.FetchCall(f.callA.SID, nil)
	if err != nil {
		t.Fatal(err)
	}
	callList := acctPath(e.main.SID, "/Calls/"+f.callA.SID+"/Notifications.json")
	if got := (*c.SubresourceUris)["notifications"]; got != callList {
		t.Fatalf("subresource_uris.notifications = %q, want %q", got, callList)
	}
	r := e.asMain(t, http.MethodGet, callList, nil)
	if items, _ := r.body["notifications"].([]any); r.status != 200 || len(items) != 3 {
		t.Fatalf("GET %s = %d %v", callList, r.status, r.body)
	}

	// The call's list, newest first, in the shape twilio-go decodes.
	list, err := tw.Api.ListCallNotification(f.callA.SID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("call's notifications = %d, want 3", len(list))
	}
	got := list[2] // the oldest: the schema warning
	checks := []struct {
		name      string
		got, want any
	}{
		{"order", []string{deref(list[0].Sid), deref(list[1].Sid), deref(list[2].Sid)}, []string{f.attr.SID, f.fetch.SID, f.schema.SID}},
		{"sid", deref(got.Sid), f.schema.SID},
		{"account_sid", deref(got.AccountSid), e.main.SID},
		{"call_sid", deref(got.CallSid), f.callA.SID},
		{"api_version", deref(got.ApiVersion), "2010-04-01"},
		{"error_code", deref(got.ErrorCode), "12200"},
		{"log", deref(got.Log), "1"},
		{"error log", deref(list[1].Log), "0"},
		{"message_text", deref(got.MessageText), f.schema.MessageText},
		{"message_date", deref(got.MessageDate), "Fri, 01 Mar 2024 10:00:00 +0000"},
		{"more_info", deref(got.MoreInfo), "https://www.twilio.com/docs/errors/12200"},
		{"request_method", deref(got.RequestMethod), "POST"},
		{"request_url", deref(got.RequestUrl), "https://app.example.com/answer"},
		{"uri", deref(got.Uri), acctPath(e.main.SID, "/Calls/"+f.callA.SID+"/Notifications/"+f.schema.SID+".json")},
	}
	for _, ck := range checks {
		if !equalAny(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if _, err := time.Parse(time.RFC1123Z, deref(got.DateCreated)); err != nil {
		t.Errorf("date_created %q is not RFC 2822: %v", deref(got.DateCreated), err)
	}
	// The list leaves out the request and response data (Twilio: only the
	// instance carries it).
	for _, it := range r.body["notifications"].([]any) {
		m := it.(map[string]any)
		for _, k := range []string{"request_variables", "response_body", "response_headers"} {
			if _, ok := m[k]; ok {
				t.Errorf("list item carries %s", k)
			}
		}
	}

	// One notification, under the call and under the account.
	inst, err := tw.Api.FetchCallNotification(f.callA.SID, f.schema.SID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if deref(inst.ResponseBody) != f.schema.ResponseBody || deref(inst.RequestVariables) != f.schema.RequestVariables ||
		deref(inst.ResponseHeaders) != "Content-Type=text%2Fxml" || deref(inst.ErrorCode) != "12200" ||
		deref(inst.Uri) != deref(got.Uri) {
		t.Errorf("call notification instance = %+v", inst)
	}
	acctInst, err := tw.Api.FetchNotification(f.fetch.SID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if deref(acctInst.Log) != "0" || deref(acctInst.ErrorCode) != "11200" || acctInst.ResponseHeaders != nil ||
		deref(acctInst.Uri) != acctPath(e.main.SID, "/Notifications/"+f.fetch.SID+".json") {
		t.Errorf("account notification instance = %+v", acctInst)
	}
	noCall, err := tw.Api.FetchNotification(f.acctLevel.SID, nil)
	if err != nil || noCall.CallSid != nil || noCall.RequestUrl != nil || deref(noCall.ErrorCode) != "21220" {
		t.Errorf("account-level notification = %+v, %v", noCall, err)
	}

	// The account's list and its filters, through twilio-go (PageSize 2, so
	// the client follows next_page_uri).
	sids := func(ns []api.ApiV2010Notification) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, deref(n.Sid))
		}
		return out
	}
	all := []string{f.acctLevel.SID, f.onB.SID, f.attr.SID, f.fetch.SID, f.schema.SID}
	cases := []struct {
		name string
		p    *api.ListNotificationParams
		want []string
	}{
		{"all, newest first, over pages", new(api.ListNotificationParams), all},
		{"errors", new(api.ListNotificationParams).SetLog(0), []string{f.acctLevel.SID, f.fetch.SID}},
		{"warnings", new(api.ListNotificationParams).SetLog(1), []string{f.onB.SID, f.attr.SID, f.schema.SID}},
		{"MessageDate (a day)", new(api.ListNotificationParams).SetMessageDate("2024-03-01"), []string{f.fetch.SID, f.schema.SID}},
		{"MessageDate> (on or after)", new(api.ListNotificationParams).SetMessageDateAfter("2024-03-02"), []string{f.acctLevel.SID, f.onB.SID, f.attr.SID}},
		{"MessageDate< (before)", new(api.ListNotificationParams).SetMessageDateBefore("2024-03-02"), []string{f.fetch.SID, f.schema.SID}},
		{"warnings in a window (RFC 3339)", new(api.ListNotificationParams).SetLog(1).
			SetMessageDateAfter("2024-03-01T10:00:30Z").SetMessageDateBefore("2024-03-03T00:00:00Z"), []string{f.onB.SID, f.attr.SID}},
		{"a subaccount's, by its parent", new(api.ListNotificationParams).SetPathAccountSid(f.sub.SID), []string{f.subNote.SID}},
	}
	for _, tc := range cases {
		ns, err := tw.Api.ListNotification(tc.p.SetPageSize(2))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := sids(ns); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	callWarnings, err := tw.Api.ListCallNotification(f.callA.SID, new(api.ListCallNotificationParams).SetLog(1).SetMessageDate("2024-03-02"))
	if err != nil || len(callWarnings) != 1 || deref(callWarnings[0].Sid) != f.attr.SID {
		t.Errorf("call's warnings on day 2 = %+v, %v", callWarnings, err)
	}

	// The paging envelope repeats the filters.
	r = e.asMain(t, http.MethodGet, acctPath(e.main.SID, "/Notifications.json"), url.Values{"Log": {"1"}, "PageSize": {"2"}})
	next, _ := r.body["next_page_uri"].(string)
	if r.body["uri"] != acctPath(e.main.SID, "/Notifications.json")+"?Log=1&PageSize=2&Page=0" ||
		!strings.Contains(next, "Log=1&PageSize=2&Page=1&PageToken=PA"+f.attr.SID) || r.body["previous_page_uri"] != nil ||
		r.body["page_size"] != float64(2) || r.body["end"] != float64(1) {
		t.Errorf("envelope = %v", r.body)
	}

	// Deleting the call deletes its notifications.
	if err := tw.Api.DeleteCall(f.callA.SID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Api.FetchNotification(f.schema.SID, nil); restErr(t, err).Code != 20404 {
		t.Error("a deleted call's notification is still fetched")
	}
	if ns, err := tw.Api.ListNotification(nil); err != nil || !slices.Equal(sids(ns), []string{f.acctLevel.SID, f.onB.SID}) {
		t.Errorf("after deleting the call: %v, %v", sids(ns), err)
	}
}

func equalAny(a, b any) bool {
	as, ok1 := a.([]string)
	bs, ok2 := b.([]string)
	if ok1 && ok2 {
		return slices.Equal(as, bs)
	}
	return a == b
}

func TestNotificationsIsolationAndErrors(t *testing.T) {
	e := newEnv(t)
	f := writeNotes(t, e)
	tw := e.mainClient(t)
	sub := e.twilio(t, f.sub.SID, f.sub.AuthToken)

	// The subaccount sees its own and nothing of its parent's.
	if ns, err := sub.Api.ListNotification(nil); err != nil || len(ns) != 1 || deref(ns[0].Sid) != f.subNote.SID {
		t.Errorf("subaccount's list = %+v, %v", ns, err)
	}
	if ns, err := tw.Api.ListCallNotification(f.subCall.SID, new(api.ListCallNotificationParams).SetPathAccountSid(f.sub.SID)); err != nil || len(ns) != 1 {
		t.Errorf("parent listing the subaccount's call = %+v, %v", ns, err)
	}
	refused := []struct {
		name string
		call func() error
	}{
		{"parent's notification under its own path", func() error {
			_, err := sub.Api.FetchNotification(f.schema.SID, nil)
			return err
		}},
		{"parent's notification under the parent's path", func() error {
			_, err := sub.Api.FetchNotification(f.schema.SID, new(api.FetchNotificationParams).SetPathAccountSid(e.main.SID))
			return err
		}},
		{"parent's list", func() error {
			_, err := sub.Api.ListNotification(new(api.ListNotificationParams).SetPathAccountSid(e.main.SID))
			return err
		}},
		{"parent's call's list under its own path", func() error {
			_, err := sub.Api.ListCallNotification(f.callA.SID, nil)
			return err
		}},
		{"parent's call notification under its own path", func() error {
			_, err := sub.Api.FetchCallNotification(f.callA.SID, f.schema.SID, nil)
			return err
		}},
		{"notification under another call", func() error {
			_, err := tw.Api.FetchCallNotification(f.callB.SID, f.schema.SID, nil)
			return err
		}},
		{"account-level notification under a call", func() error {
			_, err := tw.Api.FetchCallNotification(f.callA.SID, f.acctLevel.SID, nil)
			return err
		}},
		{"subaccount's notification under the parent's path", func() error {
			_, err := tw.Api.FetchNotification(f.subNote.SID, nil)
			return err
		}},
		{"malformed notification SID", func() error {
			_, err := tw.Api.FetchNotification("NO123", nil)
			return err
		}},
		{"SID of another kind", func() error {
			_, err := tw.Api.FetchNotification(f.callA.SID, nil)
			return err
		}},
		{"malformed call SID", func() error {
			_, err := tw.Api.ListCallNotification("CAxyz", nil)
			return err
		}},
		{"unknown notification", func() error {
			_, err := tw.Api.FetchNotification(store.NewSID("NO"), nil)
			return err
		}},
	}
	for _, r := range refused {
		re := restErr(t, r.call())
		if re.Status != 404 || re.Code != 20404 {
			t.Errorf("%s: %+v, want 404/20404", r.name, re)
		}
	}
	// A call with no record lists what the account holds for it: nothing.
	if ns, err := tw.Api.ListCallNotification(store.NewSID("CA"), nil); err != nil || len(ns) != 0 {
		t.Errorf("unknown call's list = %+v, %v", ns, err)
	}

	bad := []struct {
		name  string
		query url.Values
	}{
		{"Log 2", url.Values{"Log": {"2"}}},
		{"Log word", url.Values{"Log": {"warning"}}},
		{"MessageDate", url.Values{"MessageDate": {"yesterday"}}},
		{"MessageDate<", url.Values{"MessageDate<": {"2024-13-01"}}},
		{"unknown filter", url.Values{"ErrorCode": {"12200"}}},
		{"PageToken", url.Values{"PageToken": {"PANO" + strings.Repeat("0", 31)}}},
	}
	for _, b := range bad {
		for _, p := range []string{"/Notifications.json", "/Calls/" + f.callA.SID + "/Notifications.json"} {
			r := e.asMain(t, http.MethodGet, acctPath(e.main.SID, p), b.query)
			if r.status != 400 || r.code() != CodeInvalidParameter {
				t.Errorf("%s on %s: %d %v", b.name, p, r.status, r.body)
			}
		}
	}
	// A page token naming a notification that is gone.
	r := e.asMain(t, http.MethodGet, acctPath(e.main.SID, "/Notifications.json"), url.Values{"PageToken": {"PA" + store.NewSID("NO")}})
	if r.status != 400 || r.code() != CodeInvalidParameter {
		t.Errorf("stale page token: %d %v", r.status, r.body)
	}
	// Read-only: the call path writes notifications.
	r = e.asMain(t, http.MethodPost, acctPath(e.main.SID, "/Notifications.json"), url.Values{})
	if r.status != 405 || r.header.Get("Allow") != "GET" {
		t.Errorf("POST list: %d %v", r.status, r.header)
	}
	r = e.asMain(t, http.MethodDelete, acctPath(e.main.SID, "/Calls/"+f.callA.SID+"/Notifications/"+f.schema.SID+".json"), nil)
	if r.status != 405 {
		t.Errorf("DELETE: %d", r.status)
	}
	// No credentials, no answer.
	r = e.do(t, http.MethodGet, acctPath(e.main.SID, "/Notifications.json"), "", "", nil)
	if r.status != 401 || r.code() != CodeAuthenticate {
		t.Errorf("unauthenticated: %d %v", r.status, r.body)
	}

	// Every request above is counted under its route template.
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "tandem_control_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" {
					routes[l.GetValue()] = true
				}
			}
		}
	}
	for _, tpl := range []string{"/Notifications.json", "/Notifications/{Sid}.json",
		"/Calls/{CallSid}/Notifications.json", "/Calls/{CallSid}/Notifications/{Sid}.json"} {
		if !routes["/2010-04-01/Accounts/{AccountSid}"+tpl] {
			t.Errorf("no metrics under route %s (have %v)", tpl, routes)
		}
	}
}

func FuzzListNotifications(f *testing.F) {
	e := newEnv(f)
	call := store.NewSID("CA")
	n := store.Notification{SID: store.NewSID("NO"), AccountSID: e.main.SID, CallSID: call, ErrorCode: 12200,
		Log: store.NotificationWarning, MessageText: "Msg=x", MessageDate: noteDay1}
	if err := e.st.SaveNotifications(f.Context(), []store.Notification{n}); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"", "Log=0", "Log=1&PageSize=1", "Log=-1", "MessageDate=2024-03-01", "MessageDate%3C=2024-03-02&MessageDate%3E=2024-02-28T00:00:00Z",
		"PageToken=PA" + n.SID, "PageToken=PBNOffffffffffffffffffffffffffffffff&Page=2", "Log=1&Log=0",
	} {
		f.Add(s)
	}
	paths := []string{acctPath(e.main.SID, "/Notifications.json"), acctPath(e.main.SID, "/Calls/"+call+"/Notifications.json")}
	f.Fuzz(func(t *testing.T, query string) {
		for i := 0; i < len(query); i++ {
			if c := query[i]; c <= ' ' || c >= 0x7f || c == '#' {
				return // not a query string an HTTP client can send
			}
		}
		for _, p := range paths {
			serveFuzz(t, e, http.MethodGet, p+"?"+query, "")
		}
	})
}

// BenchmarkListCallNotifications is one authenticated GET of a call's
// notifications (ten on the call, among a thousand in the account) through
// the handler, in process.
func BenchmarkListCallNotifications(b *testing.B) {
	e := newEnv(b)
	ctx := b.Context()
	var target store.Call
	var notes []store.Notification
	for i := range 100 {
		c := store.Call{SID: store.NewSID("CA"), AccountSID: e.main.SID, Status: store.CallCompleted}
		if i == 50 {
			target = c
		}
		for j := range 10 {
			notes = append(notes, store.Notification{AccountSID: e.main.SID, CallSID: c.SID, ErrorCode: 12200 + j,
				Log: store.NotificationWarning, MessageText: "Msg=warning&LineNumber=3", MessageDate: noteDay1,
				RequestURL: "https://app.example.com/answer", RequestMethod: "POST"})
		}
		if err := e.st.SaveRecords(ctx, []store.Call{c}, notes[len(notes)-10:]); err != nil {
			b.Fatal(err)
		}
	}
	req := httptest.NewRequest(http.MethodGet, acctPath(e.main.SID, "/Calls/"+target.SID+"/Notifications.json"), nil)
	req.SetBasicAuth(e.main.SID, e.main.AuthToken)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}
