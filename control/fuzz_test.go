package control

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serveFuzz drives the API handler in process with an untrusted body or
// query and checks the invariants of every answer: no 5xx, a JSON body, and
// a Twilio error body on 4xx.
func serveFuzz(t *testing.T, e *env, method, target, body string) int {
	var req *http.Request
	if method == http.MethodPost {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	req.SetBasicAuth(e.main.SID, e.main.AuthToken)
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q: status %d: %s", method, target, body, rec.Code, rec.Body)
	}
	if rec.Code == http.StatusNoContent {
		return rec.Code
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s %q: status %d, body not JSON: %v", method, target, body, rec.Code, err)
	}
	if rec.Code >= 400 {
		code, _ := out["code"].(float64)
		if code == 0 || out["more_info"] == nil || out["status"] != float64(rec.Code) {
			t.Fatalf("%s %s %q: error body %v", method, target, body, out)
		}
	}
	return rec.Code
}

func FuzzCreateApplication(f *testing.F) {
	e := newEnv(f)
	for _, s := range []string{
		"", "FriendlyName=ivr&VoiceUrl=https%3A%2F%2Fexample.com%2Fv&VoiceMethod=GET",
		"VoiceFallbackUrl=https%3A%2F%2Fexample.com", "PublicApplicationConnectEnabled=true&VoiceCallerIdLookup=1",
		"VoiceUrl=%zz", "ApiVersion=2008-08-01&SmsUrl=http%3A%2F%2F%5B%3A%3A1%5D%3A80%2F",
	} {
		f.Add(s)
	}
	path := acctPath(e.main.SID, "/Applications.json")
	f.Fuzz(func(t *testing.T, body string) {
		if serveFuzz(t, e, http.MethodPost, path, body) == http.StatusCreated {
			// What was accepted reads back.
			serveFuzz(t, e, http.MethodGet, path+"?PageSize=1", "")
		}
	})
}

func FuzzCreateIncomingPhoneNumber(f *testing.F) {
	e := newEnv(f)
	for _, s := range []string{
		"PhoneNumber=%2B14155550100", "PhoneNumber=%2B14155550100&TrunkSid=TKabababababababababababababababab",
		"PhoneNumber=%2B1&VoiceApplicationSid=AP", "AreaCode=415", "PhoneNumber=%2B442071234567&VoiceReceiveMode=fax",
	} {
		f.Add(s)
	}
	path := acctPath(e.main.SID, "/IncomingPhoneNumbers.json")
	f.Fuzz(func(t *testing.T, body string) {
		serveFuzz(t, e, http.MethodPost, path, body)
	})
}

func FuzzCreateCall(f *testing.F) {
	e := newEnv(f)
	for _, s := range []string{
		"To=%2B14155550199&From=%2B14155550100&Url=https%3A%2F%2Fexample.com%2Fa",
		"To=sip%3Abob%40example.com%3Bx%3D1%3FX-A%3D1&From=Jack&Twiml=%3CResponse%2F%3E",
		"To=client%3Aalice&From=client%3Abob&Twiml=%3CResponse%3E%3CSay%3E",
		"To=%2B1&From=x&ApplicationSid=AP00000000000000000000000000000000&StatusCallbackEvent=ringing+answered",
		"To=sip%3A%5B%3A%3A1%5D%3A5060&From=%2B1555&Url=http%3A%2F%2Fx&SipAuthUsername=a&SipAuthPassword=b&Timeout=600",
	} {
		f.Add(s)
	}
	path := acctPath(e.main.SID, "/Calls.json")
	f.Fuzz(func(t *testing.T, body string) {
		serveFuzz(t, e, http.MethodPost, path, body)
	})
}

func FuzzListCalls(f *testing.F) {
	e := newEnv(f)
	for _, s := range []string{
		"", "PageSize=2&Page=1", "StartTime%3E=2024-03-01&EndTime%3C=2024-03-02T00:00:00Z", "Status=completed&To=%2B1",
		"PageToken=PACA00000000000000000000000000000000", "PageToken=PBCAffffffffffffffffffffffffffffffff&Page=3",
	} {
		f.Add(s)
	}
	path := acctPath(e.main.SID, "/Calls.json")
	f.Fuzz(func(t *testing.T, query string) {
		for i := 0; i < len(query); i++ {
			if c := query[i]; c <= ' ' || c >= 0x7f || c == '#' {
				return // not a query string an HTTP client can send
			}
		}
		serveFuzz(t, e, http.MethodGet, path+"?"+query, "")
	})
}
