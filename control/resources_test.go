package control

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
)

func TestApplicationsThroughTwilioGo(t *testing.T) {
	e := newEnv(t)
	tw := e.mainClient(t)

	app, err := tw.Api.CreateApplication(new(api.CreateApplicationParams).
		SetFriendlyName("ivr").SetVoiceUrl("https://example.com/voice").SetVoiceMethod("GET").
		SetVoiceFallbackUrl("https://example.com/fallback").SetStatusCallback("https://example.com/status").
		SetVoiceCallerIdLookup(true).SetSmsUrl("https://example.com/sms").
		SetPublicApplicationConnectEnabled(true))
	if err != nil {
		t.Fatal(err)
	}
	sid := deref(app.Sid)
	if !strings.HasPrefix(sid, "AP") || len(sid) != 34 || deref(app.AccountSid) != e.main.SID {
		t.Fatalf("created application sid %q account %q", sid, deref(app.AccountSid))
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"friendly_name", deref(app.FriendlyName), "ivr"},
		{"api_version", deref(app.ApiVersion), "2010-04-01"},
		{"voice_url", deref(app.VoiceUrl), "https://example.com/voice"},
		{"voice_method", deref(app.VoiceMethod), "GET"},
		{"voice_fallback_url", deref(app.VoiceFallbackUrl), "https://example.com/fallback"},
		{"voice_fallback_method", deref(app.VoiceFallbackMethod), "POST"},
		{"status_callback", deref(app.StatusCallback), "https://example.com/status"},
		{"voice_caller_id_lookup", deref(app.VoiceCallerIdLookup), true},
		{"sms_url", deref(app.SmsUrl), "https://example.com/sms"},
		{"public_application_connect_enabled", deref(app.PublicApplicationConnectEnabled), true},
		{"uri", deref(app.Uri), acctPath(e.main.SID, "/Applications/"+sid+".json")},
		{"date_created", deref(app.DateCreated), deref(app.DateUpdated)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, err := time.Parse(time.RFC1123Z, deref(app.DateCreated)); err != nil {
		t.Errorf("date_created %q is not RFC 2822: %v", deref(app.DateCreated), err)
	}

	got, err := tw.Api.FetchApplication(sid, nil)
	if err != nil || deref(got.FriendlyName) != "ivr" || !deref(got.PublicApplicationConnectEnabled) {
		t.Fatalf("FetchApplication = %+v, %v", got, err)
	}

	up, err := tw.Api.UpdateApplication(sid, new(api.UpdateApplicationParams).
		SetFriendlyName("ivr v2").SetPublicApplicationConnectEnabled(false).SetVoiceUrl("http://example.org/v2"))
	if err != nil {
		t.Fatal(err)
	}
	if deref(up.FriendlyName) != "ivr v2" || deref(up.PublicApplicationConnectEnabled) ||
		deref(up.VoiceUrl) != "http://example.org/v2" || deref(up.VoiceFallbackUrl) != "https://example.com/fallback" ||
		deref(up.DateUpdated) == deref(up.DateCreated) {
		t.Errorf("UpdateApplication = %+v", up)
	}

	// More than one page, walked by the client's own paging (next_page_uri).
	want := []string{sid}
	for i := range 6 {
		a, err := tw.Api.CreateApplication(new(api.CreateApplicationParams).SetFriendlyName(fmt.Sprintf("batch %d", i%2)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, deref(a.Sid))
	}
	all, err := tw.Api.ListApplication(new(api.ListApplicationParams).SetPageSize(2))
	if err != nil {
		t.Fatal(err)
	}
	var gotSids []string
	for _, a := range all {
		gotSids = append(gotSids, deref(a.Sid))
	}
	if !slices.Equal(gotSids, want) {
		t.Errorf("paged list = %v, want %v", gotSids, want)
	}
	limited, err := tw.Api.ListApplication(new(api.ListApplicationParams).SetPageSize(2).SetLimit(3))
	if err != nil || len(limited) != 3 {
		t.Errorf("limited list: %d, %v", len(limited), err)
	}
	batch1, err := tw.Api.ListApplication(new(api.ListApplicationParams).SetFriendlyName("batch 1").SetPageSize(1))
	if err != nil || len(batch1) != 3 {
		t.Errorf("FriendlyName filter across pages: %d, %v", len(batch1), err)
	}

	if err := tw.Api.DeleteApplication(sid, nil); err != nil {
		t.Fatal(err)
	}
	_, err = tw.Api.FetchApplication(sid, nil)
	if re := restErr(t, err); re.Status != 404 || re.Code != 20404 || re.MoreInfo != "https://www.twilio.com/docs/errors/20404" {
		t.Errorf("fetch after delete = %+v", re)
	}
	if re := restErr(t, tw.Api.DeleteApplication(sid, nil)); re.Code != 20404 {
		t.Errorf("second delete = %+v", re)
	}
}

func TestIncomingPhoneNumbersThroughTwilioGo(t *testing.T) {
	e := newEnv(t)
	tw := e.mainClient(t)
	app, err := tw.Api.CreateApplication(new(api.CreateApplicationParams).SetVoiceUrl("https://example.com/app"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := tw.Api.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).
		SetPhoneNumber("+14155550100").SetVoiceUrl("https://example.com/number").
		SetVoiceApplicationSid(deref(app.Sid)).SetVoiceCallerIdLookup(true))
	if err != nil {
		t.Fatal(err)
	}
	sid := deref(n.Sid)
	if !strings.HasPrefix(sid, "PN") || deref(n.PhoneNumber) != "+14155550100" || deref(n.FriendlyName) != "(415) 555-0100" ||
		deref(n.VoiceApplicationSid) != deref(app.Sid) || deref(n.VoiceMethod) != "POST" || n.Capabilities == nil ||
		!n.Capabilities.Voice || deref(n.TrunkSid) != "" || deref(n.Uri) != acctPath(e.main.SID, "/IncomingPhoneNumbers/"+sid+".json") {
		t.Fatalf("created number = %+v", n)
	}

	// §7.3: a trunk clears the application, and the reverse.
	trunk := "TK" + strings.Repeat("ab", 16)
	up, err := tw.Api.UpdateIncomingPhoneNumber(sid, new(api.UpdateIncomingPhoneNumberParams).SetTrunkSid(trunk))
	if err != nil || deref(up.TrunkSid) != trunk || up.VoiceApplicationSid != nil {
		t.Fatalf("set trunk = %+v, %v", up, err)
	}
	route, err := e.st.LookupNumber(t.Context(), "+14155550100")
	if err != nil || route.Voice().TrunkSID != trunk || route.Voice().URL != "" {
		t.Errorf("route with trunk = %+v, %v", route.Voice(), err)
	}
	up, err = tw.Api.UpdateIncomingPhoneNumber(sid, new(api.UpdateIncomingPhoneNumberParams).SetVoiceApplicationSid(deref(app.Sid)))
	if err != nil || deref(up.VoiceApplicationSid) != deref(app.Sid) || up.TrunkSid != nil {
		t.Fatalf("set application = %+v, %v", up, err)
	}
	route, _ = e.st.LookupNumber(t.Context(), "+14155550100")
	if v := route.Voice(); v.URL != "https://example.com/app" || v.ApplicationSID != deref(app.Sid) || !route.Number.VoiceCallerIDLookup {
		t.Errorf("route with application = %+v", v)
	}

	for _, p := range []string{"+14155550111", "+14155550122", "+442071234567"} {
		if _, err := tw.Api.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetPhoneNumber(p)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = tw.Api.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetPhoneNumber("+14155550111"))
	if re := restErr(t, err); re.Code != CodeNumberUnavailable || re.Status != 400 {
		t.Errorf("duplicate number = %+v", re)
	}
	list, err := tw.Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPageSize(1))
	if err != nil || len(list) != 4 {
		t.Fatalf("list = %d, %v", len(list), err)
	}
	partial, err := tw.Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPhoneNumber("41555501*1").SetPageSize(1))
	if err != nil || len(partial) != 1 || deref(partial[0].PhoneNumber) != "+14155550111" {
		t.Errorf("partial filter = %v, %v", partial, err)
	}

	if err := tw.Api.DeleteIncomingPhoneNumber(sid, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.LookupNumber(t.Context(), "+14155550100"); err == nil {
		t.Error("deleted number still routes")
	}
}

func TestAccountsThroughTwilioGo(t *testing.T) {
	e := newEnv(t)
	tw := e.mainClient(t)
	main, err := tw.Api.FetchAccount(e.main.SID)
	if err != nil || deref(main.OwnerAccountSid) != e.main.SID || deref(main.Status) != "active" ||
		deref(main.Uri) != "/2010-04-01/Accounts/"+e.main.SID+".json" || deref(main.AuthToken) != e.main.AuthToken {
		t.Fatalf("FetchAccount(main) = %+v, %v", main, err)
	}
	if sub := (*main.SubresourceUris)["applications"]; sub != acctPath(e.main.SID, "/Applications.json") {
		t.Errorf("subresource_uris.applications = %v", sub)
	}
	sub, err := tw.Api.CreateAccount(new(api.CreateAccountParams).SetFriendlyName("tenant A"))
	if err != nil {
		t.Fatal(err)
	}
	subSID, subToken := deref(sub.Sid), deref(sub.AuthToken)
	if deref(sub.OwnerAccountSid) != e.main.SID || deref(sub.FriendlyName) != "tenant A" || len(subToken) != 32 {
		t.Fatalf("CreateAccount = %+v", sub)
	}
	unnamed, err := tw.Api.CreateAccount(nil)
	if err != nil || !strings.HasPrefix(deref(unnamed.FriendlyName), "SubAccount Created at ") {
		t.Errorf("default friendly name = %q, %v", deref(unnamed.FriendlyName), err)
	}
	accts, err := tw.Api.ListAccount(new(api.ListAccountParams).SetPageSize(1))
	if err != nil || len(accts) != 3 {
		t.Errorf("main lists %d accounts, %v; want 3", len(accts), err)
	}
	subClient := e.twilio(t, subSID, subToken)
	own, err := subClient.Api.ListAccount(nil)
	if err != nil || len(own) != 1 || deref(own[0].Sid) != subSID {
		t.Errorf("subaccount lists %v, %v; want only itself", own, err)
	}
	if _, err := subClient.Api.CreateAccount(nil); restErr(t, err).Status != http.StatusForbidden {
		t.Errorf("subaccount created a subaccount: %v", err)
	}

	// Suspended: the subaccount cannot authenticate, its parent still manages it.
	if _, err := tw.Api.UpdateAccount(subSID, new(api.UpdateAccountParams).SetStatus("suspended")); err != nil {
		t.Fatal(err)
	}
	if _, err := subClient.Api.FetchAccount(subSID); restErr(t, err).Code != CodeAuthenticate {
		t.Errorf("suspended subaccount authenticated: %v", err)
	}
	if got, err := tw.Api.FetchAccount(subSID); err != nil || deref(got.Status) != "suspended" {
		t.Errorf("parent fetch of suspended = %+v, %v", got, err)
	}
	_, err = tw.Api.CreateApplication(new(api.CreateApplicationParams).SetPathAccountSid(subSID))
	if re := restErr(t, err); re.Status != http.StatusForbidden {
		t.Errorf("created a resource in a suspended account: %+v", re)
	}
	if got, err := tw.Api.UpdateAccount(subSID, new(api.UpdateAccountParams).SetStatus("active").SetFriendlyName("tenant A2")); err != nil ||
		deref(got.Status) != "active" || deref(got.FriendlyName) != "tenant A2" {
		t.Fatalf("reactivate = %+v, %v", got, err)
	}
	if _, err := subClient.Api.FetchAccount(subSID); err != nil {
		t.Errorf("reactivated subaccount cannot authenticate: %v", err)
	}
	// Closed is final.
	if _, err := tw.Api.UpdateAccount(subSID, new(api.UpdateAccountParams).SetStatus("closed")); err != nil {
		t.Fatal(err)
	}
	_, err = tw.Api.UpdateAccount(subSID, new(api.UpdateAccountParams).SetStatus("active"))
	if re := restErr(t, err); re.Code != CodeInvalidParameter {
		t.Errorf("reopened a closed account: %+v", re)
	}
	_, err = tw.Api.UpdateAccount(e.main.SID, new(api.UpdateAccountParams).SetStatus("suspended"))
	if re := restErr(t, err); re.Status != http.StatusForbidden {
		t.Errorf("suspended the main account: %+v", re)
	}
	if got, err := tw.Api.UpdateAccount(e.main.SID, new(api.UpdateAccountParams).SetFriendlyName("Ops")); err != nil || deref(got.FriendlyName) != "Ops" {
		t.Errorf("rename main = %+v, %v", got, err)
	}
}

func TestSubaccountIsolationAndParentAccess(t *testing.T) {
	e := newEnv(t)
	tw := e.mainClient(t)
	parentApp, err := tw.Api.CreateApplication(new(api.CreateApplicationParams).SetFriendlyName("parent's"))
	if err != nil {
		t.Fatal(err)
	}
	subA, _ := tw.Api.CreateAccount(new(api.CreateAccountParams).SetFriendlyName("A"))
	subB, _ := tw.Api.CreateAccount(new(api.CreateAccountParams).SetFriendlyName("B"))
	a := e.twilio(t, deref(subA.Sid), deref(subA.AuthToken))

	// The parent acts on a subaccount with its own credentials.
	bApp, err := tw.Api.CreateApplication(new(api.CreateApplicationParams).SetPathAccountSid(deref(subB.Sid)).SetFriendlyName("B's"))
	if err != nil || deref(bApp.AccountSid) != deref(subB.Sid) {
		t.Fatalf("parent creating in subaccount = %+v, %v", bApp, err)
	}
	if got, err := tw.Api.FetchApplication(deref(bApp.Sid), new(api.FetchApplicationParams).SetPathAccountSid(deref(subB.Sid))); err != nil || deref(got.FriendlyName) != "B's" {
		t.Errorf("parent fetching subaccount's app = %+v, %v", got, err)
	}
	if list, err := tw.Api.ListApplication(new(api.ListApplicationParams).SetPathAccountSid(deref(subB.Sid))); err != nil || len(list) != 1 {
		t.Errorf("parent listing subaccount's apps = %d, %v", len(list), err)
	}

	refused := []struct {
		name string
		call func() error
	}{
		{"parent's app under the parent's path", func() error {
			_, err := a.Api.FetchApplication(deref(parentApp.Sid), new(api.FetchApplicationParams).SetPathAccountSid(e.main.SID))
			return err
		}},
		{"parent's app under its own path", func() error {
			_, err := a.Api.FetchApplication(deref(parentApp.Sid), nil)
			return err
		}},
		{"sibling's app under the sibling's path", func() error {
			_, err := a.Api.FetchApplication(deref(bApp.Sid), new(api.FetchApplicationParams).SetPathAccountSid(deref(subB.Sid)))
			return err
		}},
		{"sibling's app under its own path", func() error {
			_, err := a.Api.UpdateApplication(deref(bApp.Sid), new(api.UpdateApplicationParams).SetFriendlyName("mine"))
			return err
		}},
		{"parent account", func() error { _, err := a.Api.FetchAccount(e.main.SID); return err }},
		{"sibling account", func() error { _, err := a.Api.FetchAccount(deref(subB.Sid)); return err }},
		{"delete sibling's app", func() error {
			return a.Api.DeleteApplication(deref(bApp.Sid), nil)
		}},
	}
	for _, r := range refused {
		re := restErr(t, r.call())
		if re.Status != 404 || re.Code != 20404 {
			t.Errorf("%s: %+v, want 404/20404", r.name, re)
		}
	}
	if got, _ := tw.Api.FetchApplication(deref(bApp.Sid), new(api.FetchApplicationParams).SetPathAccountSid(deref(subB.Sid))); deref(got.FriendlyName) != "B's" {
		t.Error("sibling's application changed")
	}
	// A number can be moved from the parent to a subaccount by the parent.
	n, _ := tw.Api.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetPhoneNumber("+14155550100"))
	moved, err := tw.Api.UpdateIncomingPhoneNumber(deref(n.Sid), new(api.UpdateIncomingPhoneNumberParams).SetAccountSid(deref(subA.Sid)))
	if err != nil || deref(moved.AccountSid) != deref(subA.Sid) {
		t.Fatalf("move number = %+v, %v", moved, err)
	}
	if _, err := a.Api.FetchIncomingPhoneNumber(deref(n.Sid), nil); err != nil {
		t.Errorf("subaccount cannot see the number moved to it: %v", err)
	}
	_, err = a.Api.UpdateIncomingPhoneNumber(deref(n.Sid), new(api.UpdateIncomingPhoneNumberParams).SetAccountSid(e.main.SID))
	if re := restErr(t, err); re.Code != CodeInvalidParameter {
		t.Errorf("subaccount moved a number to its parent: %+v", re)
	}
}

func TestAuthenticationFailures(t *testing.T) {
	e := newEnv(t)
	path := acctPath(e.main.SID, "/Applications.json")
	cases := []struct {
		name       string
		user, pass string
	}{
		{"no credentials", "", ""},
		{"wrong token", e.main.SID, strings.Repeat("0", 32)},
		{"unknown account", "AC" + strings.Repeat("0", 32), e.main.AuthToken},
		{"not an account sid", "SK" + strings.Repeat("0", 32), e.main.AuthToken},
		{"token prefix", e.main.SID, e.main.AuthToken[:16]},
	}
	for _, c := range cases {
		r := e.do(t, http.MethodGet, path, c.user, c.pass, nil)
		if r.status != 401 || r.code() != 20003 || r.body["message"] != "Authenticate" ||
			r.header.Get("WWW-Authenticate") != `Basic realm="Twilio API"` || r.body["more_info"] != "https://www.twilio.com/docs/errors/20003" {
			t.Errorf("%s: %d %v %q", c.name, r.status, r.body, r.header.Get("WWW-Authenticate"))
		}
	}
	// Through twilio-go too.
	_, err := e.twilio(t, e.main.SID, strings.Repeat("f", 32)).Api.ListApplication(nil)
	if re := restErr(t, err); re.Status != 401 || re.Code != 20003 {
		t.Errorf("twilio-go wrong token = %+v", re)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	e := newEnv(t)
	r := e.asMain(t, http.MethodGet, acctPath(e.main.SID, "/Nope.json"), nil)
	if r.status != 404 || r.code() != 20404 || !strings.Contains(r.body["message"].(string), "/Nope.json") {
		t.Errorf("unknown route = %d %v", r.status, r.body)
	}
	r = e.asMain(t, http.MethodGet, "/", nil)
	if r.status != 404 || r.code() != 20404 {
		t.Errorf("root = %d %v", r.status, r.body)
	}
	r = e.asMain(t, http.MethodPut, acctPath(e.main.SID, "/Applications.json"), nil)
	if r.status != 405 || r.code() != CodeMethodNotAllowed || r.header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT = %d %v allow %q", r.status, r.body, r.header.Get("Allow"))
	}
	r = e.asMain(t, http.MethodDelete, acctPath(e.main.SID, ".json"), nil)
	if r.status != 405 {
		t.Errorf("DELETE account = %d", r.status)
	}
	r = e.asMain(t, http.MethodGet, acctPath(e.main.SID, "/Applications/APnothex.json"), nil)
	if r.status != 404 || r.code() != 20404 {
		t.Errorf("malformed sid = %d %v", r.status, r.body)
	}
}

func TestPagingEnvelope(t *testing.T) {
	e := newEnv(t)
	var sids []string
	for i := range 5 {
		r := e.asMain(t, http.MethodPost, acctPath(e.main.SID, "/Applications.json"), url.Values{"FriendlyName": {fmt.Sprint("app ", i%2)}})
		if r.status != 201 {
			t.Fatalf("create = %d %v", r.status, r.body)
		}
		sids = append(sids, r.body["sid"].(string))
	}
	base := acctPath(e.main.SID, "/Applications.json")
	r := e.asMain(t, http.MethodGet, base, url.Values{"PageSize": {"2"}})
	if r.status != 200 {
		t.Fatalf("list = %d %v", r.status, r.body)
	}
	wantNext := base + "?PageSize=2&Page=1&PageToken=PA" + sids[1]
	checks := map[string]any{
		"page": 0.0, "page_size": 2.0, "start": 0.0, "end": 1.0,
		"first_page_uri": base + "?PageSize=2&Page=0", "uri": base + "?PageSize=2&Page=0",
		"next_page_uri": wantNext, "previous_page_uri": nil,
	}
	for k, v := range checks {
		if r.body[k] != v {
			t.Errorf("page 0 %s = %v, want %v", k, r.body[k], v)
		}
	}
	// Follow next_page_uri as the SDKs do.
	r = e.asMain(t, http.MethodGet, wantNext, nil)
	apps := r.body["applications"].([]any)
	if len(apps) != 2 || apps[0].(map[string]any)["sid"] != sids[2] || r.body["page"] != 1.0 || r.body["start"] != 2.0 || r.body["end"] != 3.0 {
		t.Fatalf("page 1 = %v", r.body)
	}
	prev, _ := r.body["previous_page_uri"].(string)
	if prev != base+"?PageSize=2&Page=0&PageToken=PB"+sids[2] {
		t.Errorf("previous_page_uri = %q", prev)
	}
	r = e.asMain(t, http.MethodGet, prev, nil)
	apps = r.body["applications"].([]any)
	if len(apps) != 2 || apps[0].(map[string]any)["sid"] != sids[0] || r.body["previous_page_uri"] != nil {
		t.Errorf("back to page 0 = %v", r.body)
	}
	// Last page: no next. Filters are echoed in the URIs.
	r = e.asMain(t, http.MethodGet, base, url.Values{"PageSize": {"2"}, "Page": {"2"}, "FriendlyName": {"app 0"}})
	if r.body["next_page_uri"] != nil || r.body["first_page_uri"] != base+"?FriendlyName=app+0&PageSize=2&Page=0" {
		t.Errorf("filtered page 2 = %v", r.body)
	}
	// Over the maximum page size: clamped to 1000.
	r = e.asMain(t, http.MethodGet, base, url.Values{"PageSize": {"5000"}})
	if r.body["page_size"] != 1000.0 {
		t.Errorf("page_size = %v", r.body["page_size"])
	}
	// A token naming a row that is gone.
	r = e.asMain(t, http.MethodGet, base, url.Values{"PageToken": {"PAAP" + strings.Repeat("0", 32)}})
	if r.status != 400 || r.code() != 20001 {
		t.Errorf("stale token = %d %v", r.status, r.body)
	}
}

func TestMetricsUseRouteTemplates(t *testing.T) {
	e := newEnv(t)
	tw := e.mainClient(t)
	app, err := tw.Api.CreateApplication(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Api.FetchApplication(deref(app.Sid), nil); err != nil {
		t.Fatal(err)
	}
	e.do(t, http.MethodGet, acctPath(e.main.SID, "/Applications.json"), e.main.SID, "bad", nil)
	e.asMain(t, http.MethodGet, "/scan/"+strings.Repeat("x", 40), nil)
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	var histograms int
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
				if strings.Contains(l.GetValue(), "AC") || strings.Contains(l.GetValue(), "AP") || strings.Contains(l.GetValue(), "xxxx") {
					t.Errorf("%s has a raw path label %s=%s", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
			switch mf.GetName() {
			case "tandem_control_http_requests_total":
				counts[labels["route"]+" "+labels["method"]+" "+labels["code"]] += m.GetCounter().GetValue()
			case "tandem_control_http_request_duration_seconds":
				histograms += int(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"/2010-04-01/Accounts/{AccountSid}/Applications.json POST 201":      1,
		"/2010-04-01/Accounts/{AccountSid}/Applications/{Sid}.json GET 200": 1,
		"/2010-04-01/Accounts/{AccountSid}/Applications.json GET 401":       1,
		"unmatched GET 404": 1,
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("count[%s] = %v, want %v (all: %v)", k, counts[k], v, counts)
		}
	}
	if histograms != 4 {
		t.Errorf("latency samples = %d, want 4", histograms)
	}
	// One API per registerer: a second registration is an error, not a panic.
	if _, err := New(DefaultConfig(), e.st, nil, WithRegisterer(e.reg)); err == nil {
		t.Error("second API on the same registerer accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		key string
		mod func(*Config)
	}{
		{"listen", func(c *Config) { c.Listen = "nope" }},
		{"listen", func(c *Config) { c.Listen = "127.0.0.1:99999" }},
		{"listen", func(c *Config) { c.Listen = "example.com:80" }},
		{"max_body_bytes", func(c *Config) { c.MaxBodyBytes = 10 }},
		{"read_timeout", func(c *Config) { c.ReadTimeout = 0 }},
		{"write_timeout", func(c *Config) { c.WriteTimeout = -time.Second }},
		{"max_header_bytes", func(c *Config) { c.MaxHeaderBytes = 1 }},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), c.key+":") {
			t.Errorf("%s: Validate = %v", c.key, err)
		}
	}
	srv := DefaultConfig().HTTPServer(http.NotFoundHandler())
	if srv.Addr != "127.0.0.1:8080" || srv.ReadHeaderTimeout == 0 || srv.MaxHeaderBytes == 0 {
		t.Errorf("HTTPServer = %+v", srv)
	}
}
