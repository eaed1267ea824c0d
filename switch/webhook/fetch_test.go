package webhook

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	twilioclient "github.com/twilio/twilio-go/client"
)

const token = "0123456789abcdef0123456789abcdef"

var callParams = []Param{
	{"CallSid", "CA0123456789abcdef0123456789abcdef"},
	{"AccountSid", "AC0123456789abcdef0123456789abcdef"},
	{"From", "+14158675310"},
	{"To", "+18005551212"},
	{"CallStatus", "ringing"},
	{"Direction", "inbound"},
	{"ApiVersion", "2010-04-01"},
	{"Caller", "+14158675310"},
	{"Called", "+18005551212"},
	{"SipHeader_X-Customer Id", "a b&c=d/é"},
}

// The request as the application sees it verifies with twilio-go's own
// RequestValidator, for POST and GET, with a URL that has its own query
// string and a fragment override that must be neither sent nor signed.
func TestFetchSignatureVerifiesWithTwilioGo(t *testing.T) {
	validator := twilioclient.NewRequestValidator(token)
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, h hit, _ int) {
				fullURL := "http://" + r.Host + r.RequestURI
				sig := r.Header.Get("X-Twilio-Signature")
				ok := false
				if r.Method == http.MethodPost {
					params := map[string]string{}
					for k, v := range h.Form {
						params[k] = v[0]
					}
					ok = validator.Validate(fullURL, params, sig) && validator.ValidateBody(fullURL, []byte(h.Body), sig)
				} else {
					ok = validator.Validate(fullURL, map[string]string{}, sig)
				}
				if !ok {
					http.Error(w, "bad signature", http.StatusForbidden)
					return
				}
				twiml(w)
			})
			u := srv.URL + "/voice?tenant=7&x=y#rt=2000&rc=0"
			c := newClient(t, nil)
			resp, err := c.Fetch(bg, Request{URL: u, Method: method, Params: callParams, AuthToken: token})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if resp.Kind != KindTwiML || !strings.Contains(string(resp.Body), "<Say>hi</Say>") {
				t.Errorf("response %v %q", resp.Kind, resp.Body)
			}
			if want := srv.URL + "/voice?tenant=7&x=y"; resp.URL != want {
				t.Errorf("document URL %q, want %q", resp.URL, want)
			}
			h := rec.all()[0]
			if strings.Contains(h.URI, "#") || strings.Contains(h.URI, "rt=") {
				t.Errorf("fragment sent: %q", h.URI)
			}
			if h.Query.Get("tenant") != "7" || h.Query.Get("x") != "y" {
				t.Errorf("URL's own query lost: %q", h.URI)
			}
			// The signature is over the URL without the fragment; a
			// signature over the fragment would not validate above, but
			// check the negative directly too.
			if validator.Validate(u, map[string]string{}, h.Header.Get("X-Twilio-Signature")) {
				t.Error("signature validates with the fragment included")
			}
			if method == "GET" {
				if h.Query.Get("CallSid") != "CA0123456789abcdef0123456789abcdef" || h.Query.Get("SipHeader_X-Customer Id") != "a b&c=d/é" {
					t.Errorf("GET parameters not in the query: %q", h.URI)
				}
				if h.Body != "" || h.Header.Get("Content-Type") != "" {
					t.Errorf("GET has a body %q / content type %q", h.Body, h.Header.Get("Content-Type"))
				}
			} else {
				if h.Form.Get("SipHeader_X-Customer Id") != "a b&c=d/é" || h.Form.Get("From") != "+14158675310" {
					t.Errorf("POST form %v", h.Form)
				}
				if h.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					t.Errorf("Content-Type %q", h.Header.Get("Content-Type"))
				}
			}
		})
	}
}

func TestFetchSendsTwilioHeaders(t *testing.T) {
	srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { twiml(w) })
	c := newClient(t, nil)
	if _, err := c.Fetch(bg, Request{URL: srv.URL + "/v", Params: callParams, AuthToken: token, IdempotencyToken: "idem-1"}); err != nil {
		t.Fatal(err)
	}
	h := rec.all()[0]
	for k, want := range map[string]string{
		"User-Agent":                 "TwilioProxy/1.1",
		"Accept":                     "*/*",
		"I-Twilio-Idempotency-Token": "idem-1",
		"Content-Type":               "application/x-www-form-urlencoded",
	} {
		if got := h.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if h.Method != "POST" {
		t.Errorf("default method %s, want POST", h.Method)
	}
	if h.Header.Get("X-Twilio-Signature") == "" {
		t.Error("no X-Twilio-Signature")
	}
}

func TestFetchParametersRepeatedNamesAndQueryKept(t *testing.T) {
	params := []Param{
		{"CallSid", "CA1"},
		{"StatusCallbackEvent", "initiated"},
		{"StatusCallbackEvent", "ringing"},
		{"StatusCallbackEvent", "answered"},
	}
	tests := []struct {
		method string
		values func(h hit) []string
	}{
		{"POST", func(h hit) []string { return h.Form["StatusCallbackEvent"] }},
		{"GET", func(h hit) []string { return h.Query["StatusCallbackEvent"] }},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { twiml(w) })
			c := newClient(t, nil)
			if _, err := c.Fetch(bg, Request{URL: srv.URL + "/v?app=1&app=2", Method: tt.method, Params: params, AuthToken: token}); err != nil {
				t.Fatal(err)
			}
			h := rec.all()[0]
			if got, want := tt.values(h), []string{"initiated", "ringing", "answered"}; !slices.Equal(got, want) {
				t.Errorf("repeated values %v, want %v in order", got, want)
			}
			if got := h.Query["app"]; !slices.Equal(got, []string{"1", "2"}) {
				t.Errorf("URL query parameters %v, want [1 2]", got)
			}
			// The signature covers every value (sorted, §4.1).
			var signParams []Param
			signURL := "http://" + h.Host + h.URI
			if tt.method == "POST" {
				signParams = params
			}
			if !ValidSignature(token, signURL, signParams, h.Header.Get("X-Twilio-Signature")) {
				t.Error("signature does not cover the repeated values")
			}
		})
	}
}

func TestIdempotencyTokenStableAcrossRetriesNewPerRequest(t *testing.T) {
	srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, n int) {
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		twiml(w)
	})
	c := newClient(t, nil)
	u := srv.URL + "/v#rp=5xx&rc=1"
	resp, err := c.Fetch(bg, Request{URL: u, Params: callParams, AuthToken: token})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if resp.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", resp.Attempts)
	}
	if _, err := c.Fetch(bg, Request{URL: u, Params: callParams, AuthToken: token}); err != nil {
		t.Fatal(err)
	}
	hits := rec.all()
	if len(hits) != 3 {
		t.Fatalf("server saw %d requests, want 3", len(hits))
	}
	tok := func(i int) string { return hits[i].Header.Get("I-Twilio-Idempotency-Token") }
	if tok(0) == "" || tok(0) != tok(1) {
		t.Errorf("retry token %q != first %q", tok(1), tok(0))
	}
	if tok(2) == tok(0) {
		t.Errorf("a new logical request reused token %q", tok(2))
	}
	if st := c.Stats(); st.Retries != 1 {
		t.Errorf("Stats.Retries = %d, want 1", st.Retries)
	}
}

func TestFetchBasicAuthFromURLCredentials(t *testing.T) {
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ hit, _ int) {
		if u, p, ok := r.BasicAuth(); !ok || u != "app" || p != "s3cr@t" {
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		twiml(w)
	})
	c := newClient(t, nil)
	u := strings.Replace(srv.URL, "http://", "http://app:s3cr%40t@", 1) + "/v?q=1"
	if _, err := c.Fetch(bg, Request{URL: u, Params: callParams, AuthToken: token}); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	h := rec.all()[0]
	if !ValidSignature(token, srv.URL+"/v?q=1", callParams, h.Header.Get("X-Twilio-Signature")) {
		t.Error("signature is not over the URL without credentials")
	}
}

func TestFetchReusesKeepAliveConnections(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { twiml(w) })
	c := newClient(t, nil)
	for range 5 {
		if _, err := c.Fetch(bg, Request{URL: srv.URL + "/v", Params: callParams}); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.ConnsOpened != 1 || st.Attempts != 5 {
		t.Errorf("ConnsOpened=%d Attempts=%d, want 1 and 5", st.ConnsOpened, st.Attempts)
	}
}

// A server that closes a keep-alive connection after one response: the
// next request fails on the stale connection before any byte is read and
// is sent again on a new connection, without counting as a retry.
func TestFetchResendsOnStaleKeepAliveConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(cn)
			req, err := http.ReadRequest(br)
			if err == nil {
				_, _ = io.Copy(io.Discard, req.Body)
				body := "<Response/>"
				fmt.Fprintf(cn, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}
			_ = cn.Close() // keep-alive was promised; close anyway
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })

	c := newClient(t, nil)
	u := "http://" + ln.Addr().String() + "/v#rc=0"
	for i := range 3 {
		if _, err := c.Fetch(bg, Request{URL: u, Params: callParams}); err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
	}
	st := c.Stats()
	if st.StaleConns != 2 || st.Retries != 0 || st.ConnsOpened != 3 {
		t.Errorf("StaleConns=%d Retries=%d ConnsOpened=%d, want 2, 0, 3", st.StaleConns, st.Retries, st.ConnsOpened)
	}
}

func TestFetchInvalidURLAndMethod(t *testing.T) {
	c := newClient(t, nil)
	tests := []struct {
		name, url, method string
		sentinel          error
	}{
		{"relative", "/voice", "POST", ErrInvalidURL},
		{"ftp", "ftp://example.com/x", "POST", ErrInvalidURL},
		{"space", "http://example.com/a b", "POST", ErrInvalidURL},
		{"no host", "http:///x", "POST", ErrInvalidURL},
		{"bad port", "http://example.com:99999/x", "POST", ErrInvalidURL},
		{"empty", "", "POST", ErrInvalidURL},
		{"method", "http://127.0.0.1:1/x", "PUT", ErrInvalidMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Fetch(bg, Request{URL: tt.url, Method: tt.method})
			e := asError(t, err, CodeInvalidURL)
			if !errors.Is(e, tt.sentinel) {
				t.Errorf("error %v does not wrap %v", e, tt.sentinel)
			}
			if e.Attempts != 0 {
				t.Errorf("Attempts = %d for a request never sent", e.Attempts)
			}
		})
	}
	if n := c.Stats().FetchFailures[CodeInvalidURL]; n != uint64(len(tests)) {
		t.Errorf("FetchFailures[11100] = %d, want %d", n, len(tests))
	}
}

// MaxConnsPerHost bounds the connections to a host: concurrent fetches
// queue for the connections there are, and get them as they are released.
func TestMaxConnsPerHostSharedByConcurrentFetches(t *testing.T) {
	var mu sync.Mutex
	open, peak := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { twiml(w) }))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			open++
			peak = max(peak, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(t, func(cfg *Config) { cfg.MaxConnsPerHost = 2 })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if _, err := c.Fetch(bg, Request{URL: srv.URL + "/v", Params: callParams}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := c.Stats()
	if st.FetchesOK != 200 || st.ConnsOpened > 2 {
		t.Errorf("FetchesOK=%d ConnsOpened=%d, want 200 and at most 2", st.FetchesOK, st.ConnsOpened)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak > 2 {
		t.Errorf("server saw %d connections at once, want at most 2", peak)
	}
}
