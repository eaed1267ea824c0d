package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
)

// hookRequest is one request an application received.
type hookRequest struct {
	Path   string
	Method string
	URL    string // as tandem requested it (scheme, host, path, query)
	Form   url.Values
	// Query is the URL's own query string (kept on every request, §3.1).
	Query  url.Values
	Header http.Header
	// SignatureOK: X-Twilio-Signature verified with twilio-go's
	// RequestValidator and the account's AuthToken.
	SignatureOK bool
	At          time.Time
}

// reply is what an application answers.
type reply struct {
	status int
	ctype  string
	body   string
}

func twimlReply(doc string) reply {
	return reply{status: 200, ctype: "text/xml", body: doc}
}

// app is an httptest server standing in for the applications: it answers
// each path with the reply registered for it and records every request.
type app struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	replies  map[string]func(hookRequest) reply
	requests []hookRequest
	changed  chan struct{}
	// tokens holds each account's AuthToken: a request is validated with
	// the token of the AccountSid it carries.
	tokens map[string]string
}

func newApp(t *testing.T) *app {
	a := &app{t: t, replies: map[string]func(hookRequest) reply{}, changed: make(chan struct{}, 1),
		tokens: map[string]string{testAccountSID: testAuthToken}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// trust adds an account whose requests this server validates.
func (a *app) trust(accountSID, token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[accountSID] = token
}

// url is the absolute URL of path on this server.
func (a *app) url(path string) string { return a.srv.URL + path }

// on registers the TwiML document served at path.
func (a *app) on(path, doc string) {
	a.onFunc(path, func(hookRequest) reply { return twimlReply(doc) })
}

func (a *app) onFunc(path string, f func(hookRequest) reply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.replies[path] = f
}

func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	full := "http://" + r.Host + r.URL.RequestURI()
	params := map[string]string{}
	if r.Method == http.MethodPost {
		for k, v := range form {
			params[k] = v[0]
		}
	} else {
		form = r.URL.Query()
	}
	a.mu.Lock()
	token := a.tokens[form.Get("AccountSid")]
	a.mu.Unlock()
	validator := client.NewRequestValidator(token)
	req := hookRequest{
		Path: r.URL.Path, Method: r.Method, URL: full, Form: form, Query: r.URL.Query(), Header: r.Header.Clone(),
		SignatureOK: token != "" && validator.Validate(full, params, r.Header.Get("X-Twilio-Signature")),
		At:          time.Now(),
	}
	a.mu.Lock()
	a.requests = append(a.requests, req)
	f := a.replies[r.URL.Path]
	a.mu.Unlock()
	select {
	case a.changed <- struct{}{}:
	default:
	}
	rep := reply{status: 200, ctype: "text/xml", body: "<Response/>"}
	if f != nil {
		rep = f(req)
	} else if strings.HasPrefix(r.URL.Path, "/status") {
		rep = reply{status: 204}
	}
	if rep.ctype != "" {
		w.Header().Set("Content-Type", rep.ctype)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

// requestsTo returns the requests received on path so far.
func (a *app) requestsTo(path string) []hookRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []hookRequest
	for _, r := range a.requests {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// wait returns the first n requests to path, failing the test after the
// timeout.
func (a *app) wait(path string, n int, timeout time.Duration) []hookRequest {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if rs := a.requestsTo(path); len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("waited %s for %d request(s) to %s; got %d (all: %s)", timeout, n, path, len(a.requestsTo(path)), a.summary())
		}
		select {
		case <-a.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (a *app) summary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	for _, r := range a.requests {
		fmt.Fprintf(&b, "[%s %s CallStatus=%s DialCallStatus=%s] ", r.Method, r.Path, r.Form.Get("CallStatus"), r.Form.Get("DialCallStatus"))
	}
	return b.String()
}

// expectParams checks form values of a request.
func expectParams(t *testing.T, r hookRequest, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Form.Get(k); got != v {
			t.Errorf("%s %s: %s=%q, want %q (form: %v)", r.Method, r.Path, k, got, v, r.Form)
		}
	}
}
