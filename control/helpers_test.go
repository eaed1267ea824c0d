package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	"go.uber.org/goleak"

	"tandem/control/controltest"
	"tandem/control/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// env is a real API over a real SQLite file behind a real HTTP server.
type env struct {
	st     *store.SQLite
	dbPath string
	api    *API
	srv    *httptest.Server
	main   store.Account
	calls  *recordingCalls
	reg    *prometheus.Registry
	mu     sync.Mutex
	now    time.Time
	// bodies records every response body twilio-go clients of this env read.
	bodies *bodyLog
}

type envOption func(*envConfig)

type envConfig struct {
	noSwitch bool
	realm    string
}

func withoutSwitch() envOption { return func(c *envConfig) { c.noSwitch = true } }

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var ec envConfig
	for _, o := range opts {
		o(&ec)
	}
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "tandem.db")
	st, err := store.Open(ctx, dbPath, store.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	main, created, err := st.EnsureMainAccount(ctx, store.Account{FriendlyName: "Main"})
	if err != nil || !created {
		t.Fatalf("EnsureMainAccount: %v %v", created, err)
	}
	e := &env{st: st, dbPath: dbPath, main: main, calls: &recordingCalls{}, reg: prometheus.NewRegistry(), now: t0, bodies: &bodyLog{}}
	var calls Calls = e.calls
	if ec.noSwitch {
		calls = nil
	}
	apiOpts := []Option{WithRegisterer(e.reg), WithClock(e.clock)}
	if ec.realm != "" {
		apiOpts = append(apiOpts, WithSIPRealm(ec.realm))
	}
	e.api, err = New(DefaultConfig(), st, calls, apiOpts...)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(func() {
		e.srv.Close()
		st.Close()
	})
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(time.Second) // every write gets a distinct, later date
	return e.now
}

// bodyLog keeps every response body a client read, to check what the API
// ever sent (e.g. never a password).
type bodyLog struct {
	mu     sync.Mutex
	bodies []string
}

func (l *bodyLog) add(b []byte) {
	l.mu.Lock()
	l.bodies = append(l.bodies, string(b))
	l.mu.Unlock()
}

func (l *bodyLog) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.bodies, "\n")
}

type recordBodies struct {
	next http.RoundTripper
	log  *bodyLog
}

func (r recordBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	r.log.add(b)
	res.Body = io.NopCloser(strings.NewReader(string(b)))
	return res, nil
}

// twilio returns the real twilio-go client authenticated as sid:token and
// pointed at the test server.
func (e *env) twilio(t testing.TB, sid, token string) *twilio.RestClient {
	t.Helper()
	hc, err := controltest.HTTPClient(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	hc.Transport = recordBodies{next: hc.Transport, log: e.bodies}
	t.Cleanup(hc.CloseIdleConnections)
	c := &client.Client{Credentials: client.NewCredentials(sid, token), HTTPClient: hc}
	c.SetAccountSid(sid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

func (e *env) mainClient(t testing.TB) *twilio.RestClient {
	return e.twilio(t, e.main.SID, e.main.AuthToken)
}

// response is a raw HTTP answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) code() int {
	c, _ := r.body["code"].(float64)
	return int(c)
}

// do sends a raw request (form in the body for POST, in the query
// otherwise) with Basic credentials.
func (e *env) do(t testing.TB, method, path, user, pass string, form url.Values) response {
	t.Helper()
	target := e.srv.URL + path
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if len(form) > 0 {
		target += "?" + form.Encode()
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v: %q", method, path, err, raw)
		}
	}
	return r
}

// asMain sends a raw request with the main account's credentials.
func (e *env) asMain(t testing.TB, method, path string, form url.Values) response {
	t.Helper()
	return e.do(t, method, path, e.main.SID, e.main.AuthToken, form)
}

func acctPath(sid, rest string) string { return "/2010-04-01/Accounts/" + sid + rest }

// restErr extracts twilio-go's decoded error.
func restErr(t testing.TB, err error) *client.TwilioRestError {
	t.Helper()
	var re *client.TwilioRestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a TwilioRestError", err)
	}
	return re
}

// recordingCalls is the test's Calls: it records requests and answers as the
// switch would (a queued call), or with the error set.
type recordingCalls struct {
	mu      sync.Mutex
	creates []CallRequest
	updates []CallUpdate
	err     error
}

func (r *recordingCalls) Create(_ context.Context, req CallRequest) (store.Call, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.creates = append(r.creates, req)
	if r.err != nil {
		return store.Call{}, r.err
	}
	return store.Call{SID: store.NewSID("CA"), AccountSID: req.AccountSID, Direction: "outbound-api",
		From: req.From, To: req.To, Status: store.CallQueued, APIVersion: req.APIVersion,
		DateCreated: t0, DateUpdated: t0}, nil
}

func (r *recordingCalls) Update(_ context.Context, up CallUpdate) (store.Call, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, up)
	if r.err != nil {
		return store.Call{}, r.err
	}
	status := store.CallInProgress
	if up.Status != "" {
		status = up.Status
	}
	return store.Call{SID: up.CallSID, AccountSID: up.AccountSID, Direction: "outbound-api", From: "+14155550100",
		To: "+14155550199", Status: status, APIVersion: "2010-04-01", DateCreated: t0, DateUpdated: t0}, nil
}

func (r *recordingCalls) setErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *recordingCalls) last() (CallRequest, CallUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var c CallRequest
	var u CallUpdate
	if len(r.creates) > 0 {
		c = r.creates[len(r.creates)-1]
	}
	if len(r.updates) > 0 {
		u = r.updates[len(r.updates)-1]
	}
	return c, u
}

// switchError is how the switch classifies its errors without importing
// control.
type switchError struct {
	status, code int
	msg          string
}

func (e switchError) Error() string                   { return e.msg }
func (e switchError) TwilioError() (int, int, string) { return e.status, e.code, e.msg }

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
