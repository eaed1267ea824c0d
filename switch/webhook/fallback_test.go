package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	twilioclient "github.com/twilio/twilio-go/client"
)

// fallbackServer answers TwiML and checks the signature with twilio-go
// against the fallback URL itself.
func fallbackServer(t *testing.T) (string, *recorder) {
	validator := twilioclient.NewRequestValidator(token)
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, h hit, _ int) {
		params := map[string]string{}
		for k, v := range h.Form {
			params[k] = v[0]
		}
		if !validator.Validate("http://"+r.Host+r.RequestURI, params, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		twiml(w)
	})
	return srv.URL + "/fallback?src=fb", rec
}

func TestFallbackAfterPrimary500(t *testing.T) {
	primary, primaryRec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	fbURL, fbRec := fallbackServer(t)
	c := newClient(t, nil)
	primaryURL := strings.Replace(primary.URL, "http://", "http://u:p@", 1) + "/voice?x=1#rc=0"
	resp, err := c.FetchWithFallback(bg, Request{
		URL: primaryURL, Params: callParams, AuthToken: token,
		IdempotencyToken: "primary-token",
		FallbackURL:      fbURL, FallbackMethod: "POST",
	})
	if err != nil {
		t.Fatalf("FetchWithFallback: %v", err)
	}
	if resp.Primary == nil || resp.Primary.Code != CodeRetrievalFailure || resp.Primary.HTTPStatus != 500 {
		t.Fatalf("Primary = %+v, want the 11200/500 error", resp.Primary)
	}
	if resp.URL != fbURL || resp.Kind != KindTwiML {
		t.Errorf("response URL %q kind %v", resp.URL, resp.Kind)
	}
	if primaryRec.count() != 1 {
		t.Errorf("primary requested %d times", primaryRec.count())
	}
	h := fbRec.all()[0]
	if got := h.Form.Get("ErrorCode"); got != "11200" {
		t.Errorf("ErrorCode %q, want 11200", got)
	}
	if got, want := h.Form.Get("ErrorUrl"), primary.URL+"/voice?x=1"; got != want {
		t.Errorf("ErrorUrl %q, want %q (no fragment, no credentials)", got, want)
	}
	if h.Form.Get("CallSid") != "CA0123456789abcdef0123456789abcdef" {
		t.Errorf("fallback lost the call parameters: %v", h.Form)
	}
	if tok := h.Header.Get("I-Twilio-Idempotency-Token"); tok == "" || tok == "primary-token" {
		t.Errorf("fallback idempotency token %q: want a new one", tok)
	}
	st := c.Stats()
	if st.Fallbacks != 1 || st.FallbacksOK != 1 || st.FetchFailures[CodeRetrievalFailure] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestFallbackNotUsed(t *testing.T) {
	ok, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { twiml(w) })
	fail, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { http.Error(w, "x", 404) })
	fbURL, fbRec := fallbackServer(t)
	c := newClient(t, nil)

	// Primary fine: no fallback.
	resp, err := c.FetchWithFallback(bg, Request{URL: ok.URL, Params: callParams, AuthToken: token, FallbackURL: fbURL})
	if err != nil || resp.Primary != nil {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	// No fallback URL: the primary's error.
	_, err = c.FetchWithFallback(bg, Request{URL: fail.URL, Params: callParams, AuthToken: token})
	if e := asError(t, err, CodeRetrievalFailure); e.HTTPStatus != 404 || e.Primary != nil {
		t.Errorf("error %+v", e)
	}
	if fbRec.count() != 0 {
		t.Errorf("fallback requested %d times", fbRec.count())
	}
}

func TestFallbackFailingToo(t *testing.T) {
	addr := downAddr(t)
	fail, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { http.Error(w, "x", 502) })
	c := newClient(t, nil)
	_, err := c.FetchWithFallback(bg, Request{
		URL: fail.URL, Params: callParams, AuthToken: token,
		FallbackURL: "http://" + addr + "/fb#rc=0",
	})
	e := asError(t, err, CodeConnectionFailure)
	if e.Primary == nil || e.Primary.HTTPStatus != 502 {
		t.Errorf("fallback error's Primary = %+v, want the 502", e.Primary)
	}
}

// A parse failure (12100) is found by the caller after a successful fetch;
// it asks for the fallback itself.
func TestFetchFallbackForParseFailure(t *testing.T) {
	fbURL, fbRec := fallbackServer(t)
	c := newClient(t, nil)
	r := Request{URL: "https://app.example.com/voice#rt=500", Params: callParams, AuthToken: token, FallbackURL: fbURL}
	resp, err := c.FetchFallback(bg, r, CodeDocumentParse)
	if err != nil {
		t.Fatalf("FetchFallback: %v", err)
	}
	if resp.Primary == nil || resp.Primary.Code != CodeDocumentParse {
		t.Errorf("Primary %+v", resp.Primary)
	}
	h := fbRec.all()[0]
	if h.Form.Get("ErrorCode") != "12100" || h.Form.Get("ErrorUrl") != "https://app.example.com/voice" {
		t.Errorf("ErrorCode %q ErrorUrl %q", h.Form.Get("ErrorCode"), h.Form.Get("ErrorUrl"))
	}
}

func TestFallbackRequestUsesFallbackMethod(t *testing.T) {
	srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { twiml(w) })
	c := newClient(t, nil)
	r := Request{URL: "http://127.0.0.1:1/p", Params: callParams, AuthToken: token, FallbackURL: srv.URL + "/fb?a=1", FallbackMethod: "GET"}
	if _, err := c.FetchFallback(bg, r, CodeContentType); err != nil {
		t.Fatal(err)
	}
	h := rec.all()[0]
	if h.Method != "GET" || h.Query.Get("ErrorCode") != "12300" || h.Query.Get("a") != "1" {
		t.Errorf("%s %s", h.Method, h.URI)
	}
	if !ValidSignature(token, "http://"+h.Host+h.URI, nil, h.Header.Get("X-Twilio-Signature")) {
		t.Error("GET fallback signature invalid")
	}
	fb := FallbackRequest(r, 11205)
	if fb.FallbackURL != "" || len(fb.Params) != len(callParams)+2 || len(r.Params) != len(callParams) {
		t.Errorf("FallbackRequest: chained fallback %q, params %d (original %d)", fb.FallbackURL, len(fb.Params), len(r.Params))
	}
	var target *Error
	if errors.As(error(&Error{Code: 1}), &target) && target.FallbackEligible() {
		t.Error("unknown code is fallback-eligible")
	}
}
