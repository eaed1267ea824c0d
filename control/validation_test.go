package control

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tandem/control/store"
)

// TestValidationErrors drives every validation path over raw HTTP and checks
// Twilio's status and error code.
func TestValidationErrors(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// An application of another (unrelated) account, private.
	other := store.Account{SID: store.NewSID("AC"), FriendlyName: "other", Status: store.AccountActive, Type: "Full",
		AuthToken: store.NewAuthToken(), DateCreated: t0, DateUpdated: t0}
	other.OwnerSID = other.SID
	if err := e.st.CreateAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	otherApp := store.Application{SID: store.NewSID("AP"), AccountSID: other.SID, APIVersion: "2010-04-01",
		VoiceURL: "https://other.example/voice", VoiceMethod: "POST", DateCreated: t0, DateUpdated: t0}
	if err := e.st.CreateApplication(ctx, otherApp); err != nil {
		t.Fatal(err)
	}
	liveCall := store.Call{SID: store.NewSID("CA"), AccountSID: e.main.SID, Status: store.CallInProgress, Direction: "inbound"}
	if err := e.st.SaveCalls(ctx, []store.Call{liveCall}); err != nil {
		t.Fatal(err)
	}
	vals := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1]) // later pairs override the defaults of call()
		}
		return v
	}
	call := func(kv ...string) url.Values {
		return vals(append([]string{"To", "+14155550199", "From", "+14155550100"}, kv...)...)
	}
	apps := "/Applications.json"
	nums := "/IncomingPhoneNumbers.json"
	calls := "/Calls.json"
	aCall := "/Calls/" + store.NewSID("CA") + ".json"
	cases := []struct {
		name   string
		method string
		path   string
		form   url.Values
		status int
		code   int
	}{
		{"app: url scheme", "POST", apps, vals("VoiceUrl", "ftp://example.com/x"), 400, CodeInvalidURL},
		{"app: url not absolute", "POST", apps, vals("VoiceUrl", "/voice"), 400, CodeInvalidURL},
		{"app: url with space", "POST", apps, vals("StatusCallback", "https://exa mple.com/"), 400, CodeInvalidURL},
		{"app: url host underscore", "POST", apps, vals("SmsUrl", "https://a_b.example.com/"), 400, CodeInvalidURL},
		{"app: method", "POST", apps, vals("VoiceMethod", "PUT"), 400, CodeInvalidMethod},
		{"app: fallback without url", "POST", apps, vals("VoiceFallbackUrl", "https://example.com/fb"), 400, CodeFallbackWithoutURL},
		{"app: sms fallback without url", "POST", apps, vals("SmsFallbackUrl", "https://example.com/fb"), 400, CodeFallbackWithoutURL},
		{"app: friendly name length", "POST", apps, vals("FriendlyName", strings.Repeat("x", 65)), 400, CodeInvalidParameter},
		{"app: bool", "POST", apps, vals("VoiceCallerIdLookup", "maybe"), 400, CodeInvalidParameter},
		{"app: api version", "POST", apps, vals("ApiVersion", "2020-01-01"), 400, CodeInvalidParameter},
		{"app: unknown parameter", "POST", apps, vals("VoiceURL", "https://example.com/"), 400, CodeInvalidParameter},
		{"app: list unknown filter", "GET", apps, vals("Status", "x"), 400, CodeInvalidParameter},
		{"app: page size", "GET", apps, vals("PageSize", "0"), 400, CodeInvalidParameter},
		{"app: page", "GET", apps, vals("Page", "-1"), 400, CodeInvalidParameter},
		{"app: page token", "GET", apps, vals("PageToken", "PAxyz"), 400, CodeInvalidParameter},
		{"app: ok", "POST", apps, vals("VoiceUrl", "https://example.com/v?x=1", "VoiceMethod", "get"), 201, 0},

		{"number: missing", "POST", nums, vals(), 400, CodeNumberInvalid},
		{"number: not e164", "POST", nums, vals("PhoneNumber", "4155550100"), 400, CodeNumberInvalid},
		{"number: leading zero", "POST", nums, vals("PhoneNumber", "+04155550100"), 400, CodeNumberInvalid},
		{"number: too long", "POST", nums, vals("PhoneNumber", "+1234567890123456"), 400, CodeNumberInvalid},
		{"number: area code", "POST", nums, vals("AreaCode", "415"), 400, CodeInvalidParameter},
		{"number: other account's app", "POST", nums, vals("PhoneNumber", "+14155550101", "VoiceApplicationSid", otherApp.SID), 400, CodeInvalidAppSID},
		{"number: missing app", "POST", nums, vals("PhoneNumber", "+14155550101", "VoiceApplicationSid", store.NewSID("AP")), 400, CodeInvalidAppSID},
		{"number: malformed app sid", "POST", nums, vals("PhoneNumber", "+14155550101", "VoiceApplicationSid", "APx"), 400, CodeInvalidParameter},
		{"number: app and trunk", "POST", nums, vals("PhoneNumber", "+14155550101", "VoiceApplicationSid", otherApp.SID, "TrunkSid", store.NewSID("TK")), 400, CodeInvalidParameter},
		{"number: method", "POST", nums, vals("PhoneNumber", "+14155550101", "StatusCallbackMethod", "DELETE"), 400, CodeInvalidMethod},
		{"number: fallback", "POST", nums, vals("PhoneNumber", "+14155550101", "VoiceFallbackUrl", "https://example.com/"), 400, CodeFallbackWithoutURL},
		{"number: receive mode", "POST", nums, vals("PhoneNumber", "+14155550101", "VoiceReceiveMode", "video"), 400, CodeInvalidParameter},
		{"number: filter", "GET", nums, vals("PhoneNumber", "415-555"), 400, CodeInvalidPhoneNumber},
		{"number: beta", "GET", nums, vals("Beta", "sometimes"), 400, CodeInvalidParameter},

		{"call: no To", "POST", calls, vals("From", "+14155550100", "Url", "https://example.com/"), 400, CodeToRequired},
		{"call: bad To", "POST", calls, vals("To", "12345", "From", "+14155550100", "Url", "https://example.com/"), 400, CodeInvalidTo},
		{"call: empty sip", "POST", calls, vals("To", "sip:", "From", "+14155550100", "Url", "https://example.com/"), 400, CodeInvalidTo},
		{"call: sip bad host", "POST", calls, vals("To", "sip:bob@exa_mple..com", "From", "+14155550100", "Url", "https://example.com/"), 400, CodeInvalidTo},
		{"call: empty client", "POST", calls, vals("To", "client:", "From", "+14155550100", "Url", "https://example.com/"), 400, CodeInvalidTo},
		{"call: no From", "POST", calls, vals("To", "+14155550199", "Url", "https://example.com/"), 400, CodeFromRequired},
		{"call: client From to a number", "POST", calls, call("From", "client:alice", "Url", "https://example.com/"), 400, CodeInvalidFrom},
		{"call: garbage From", "POST", calls, vals("To", "client:bob", "From", "a b<c>", "Url", "https://example.com/"), 400, CodeInvalidFrom},
		{"call: no instructions", "POST", calls, call(), 400, CodeInvalidCallURL},
		{"call: relative Url", "POST", calls, call("Url", "voice.xml"), 400, CodeInvalidCallURL},
		{"call: Url and Twiml", "POST", calls, call("Url", "https://example.com/", "Twiml", "<Response/>"), 400, CodeInvalidParameter},
		{"call: Twiml too long", "POST", calls, call("Twiml", "<Response><Say>"+strings.Repeat("é", 4000)+"</Say></Response>"), 400, CodeTwimlTooLong},
		{"call: Twiml malformed", "POST", calls, call("Twiml", "<Response><Say>hi</Response>"), 400, 12100},
		{"call: Twiml root", "POST", calls, call("Twiml", "<Say>hi</Say>"), 400, 12102},
		{"call: private app of another account", "POST", calls, call("ApplicationSid", otherApp.SID), 400, CodeInvalidAppSID},
		{"call: missing app", "POST", calls, call("ApplicationSid", store.NewSID("AP")), 400, CodeInvalidAppSID},
		{"call: Method", "POST", calls, call("Url", "https://example.com/", "Method", "PUT"), 400, CodeInvalidMethod},
		{"call: FallbackMethod", "POST", calls, call("Url", "https://example.com/", "FallbackMethod", "HEAD"), 400, CodeInvalidMethod},
		{"call: StatusCallback url", "POST", calls, call("Url", "https://example.com/", "StatusCallback", "nope"), 400, CodeInvalidCallURL},
		{"call: Timeout", "POST", calls, call("Url", "https://example.com/", "Timeout", "601"), 400, CodeInvalidParameter},
		{"call: Timeout text", "POST", calls, call("Url", "https://example.com/", "Timeout", "ten"), 400, CodeInvalidParameter},
		{"call: event", "POST", calls, call("Url", "https://example.com/", "StatusCallbackEvent", "hangup"), 400, CodeInvalidParameter},
		{"call: SendDigits", "POST", calls, call("Url", "https://example.com/", "SendDigits", "12x"), 400, CodeInvalidParameter},
		{"call: sip user without password", "POST", calls, call("Url", "https://example.com/", "SipAuthUsername", "bob"), 400, CodeSIPPassRequired},
		{"call: sip user too long", "POST", calls, call("Url", "https://example.com/", "SipAuthUsername", strings.Repeat("b", 256), "SipAuthPassword", "x"), 400, CodeSIPUserTooLong},
		{"call: sip user chars", "POST", calls, call("Url", "https://example.com/", "SipAuthUsername", "bob@host", "SipAuthPassword", "x"), 400, CodeSIPUserChars},
		{"call: sip password too long", "POST", calls, call("Url", "https://example.com/", "SipAuthUsername", "bob", "SipAuthPassword", strings.Repeat("p", 256)), 400, CodeSIPPassTooLong},
		{"call: sip password chars", "POST", calls, call("Url", "https://example.com/", "SipAuthUsername", "bob", "SipAuthPassword", "a b"), 400, CodeSIPPassChars},
		{"call: Record", "POST", calls, call("Url", "https://example.com/", "Record", "yes please"), 400, CodeInvalidParameter},
		{"call: unknown parameter", "POST", calls, call("Url", "https://example.com/", "Recrod", "true"), 400, CodeInvalidParameter},
		{"call: ok sip with headers", "POST", calls, vals("To", "sip:bob@example.com:5080;transport=tcp?X-Tenant=1", "From", "Jack", "Url", "https://example.com/"), 201, 0},
		{"call: ok client with params", "POST", calls, vals("To", "client:alice?lang=en", "From", "client:bob", "Twiml", "<Response><Hangup/></Response>"), 201, 0},
		{"call: ok ipv6 sip", "POST", calls, vals("To", "sip:bob@[2001:db8::1]:5060", "From", "+14155550100", "Url", "https://example.com/"), 201, 0},

		{"update: Url and Twiml", "POST", aCall, vals("Url", "https://example.com/", "Twiml", "<Response/>"), 400, CodeInvalidParameter},
		{"update: Status", "POST", aCall, vals("Status", "busy"), 400, CodeInvalidParameter},
		{"update: nothing", "POST", aCall, vals(), 400, CodeInvalidParameter},
		{"update: Twiml", "POST", aCall, vals("Twiml", "<Nope/>"), 400, 12102},
		{"update: TimeLimit", "POST", aCall, vals("Status", "completed", "TimeLimit", "0"), 400, CodeInvalidParameter},
		{"update: malformed sid", "POST", "/Calls/CA123.json", vals("Status", "completed"), 404, CodeNotFound},
		{"delete: live call", "DELETE", "/Calls/" + liveCall.SID + ".json", nil, 400, CodeCallNotInProgress},

		{"calls: status filter", "GET", calls, vals("Status", "ringing-ish"), 400, CodeInvalidParameter},
		{"calls: date filter", "GET", calls, vals("StartTime", "yesterday"), 400, CodeInvalidParameter},
		{"calls: date< filter", "GET", calls, vals("EndTime<", "2024-13-01"), 400, CodeInvalidParameter},

		{"account: status", "POST", ".json", vals("Status", "deleted"), 400, CodeInvalidParameter},
		{"accounts: status filter", "GET", "/../../Accounts.json", vals("Status", "gone"), 400, CodeInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := acctPath(e.main.SID, c.path)
			if strings.HasPrefix(c.path, "/../../") {
				path = "/2010-04-01/" + strings.TrimPrefix(c.path, "/../../")
			}
			r := e.asMain(t, c.method, path, c.form)
			if r.status != c.status || r.code() != c.code {
				t.Fatalf("%d %d, want %d %d: %s", r.status, r.code(), c.status, c.code, r.raw)
			}
			if c.code != 0 && (r.body["more_info"] != fmt.Sprintf("https://www.twilio.com/docs/errors/%d", c.code) ||
				r.body["status"] != float64(c.status) || r.body["message"] == "") {
				t.Errorf("error body = %v", r.body)
			}
		})
	}
}

func TestRequestBodyLimits(t *testing.T) {
	e := newEnv(t)
	path := e.srv.URL + acctPath(e.main.SID, "/Applications.json")
	send := func(ct, body string) response {
		req, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.SetBasicAuth(e.main.SID, e.main.AuthToken)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r response
		r.status = res.StatusCode
		return r
	}
	if r := send("application/json", `{"FriendlyName":"x"}`); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("JSON body = %d", r.status)
	}
	if r := send("application/x-www-form-urlencoded", "FriendlyName="+strings.Repeat("x", 70<<10)); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("large body = %d", r.status)
	}
	if r := send("application/x-www-form-urlencoded", "FriendlyName=%zz"); r.status != 400 {
		t.Errorf("bad escape = %d", r.status)
	}
	if r := send("application/x-www-form-urlencoded; charset=utf-8", "FriendlyName=%FF%FE"); r.status != 400 {
		t.Errorf("invalid UTF-8 = %d", r.status)
	}
	if r := send("", "FriendlyName=ok"); r.status != 201 {
		t.Errorf("no content type = %d", r.status)
	}
}
