package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks, after every test, that no goroutine was left behind:
// the client's cleaner and callback workers end in Close. The one exception
// is the process-wide Date ticker that fasthttp starts the first time a
// fasthttp *server* writes a response (the benchmarks' peer); it never
// stops, and the client cannot start it (only ResponseHeader writing does).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"))
}

// hit is one request as an httptest server saw it.
type hit struct {
	Method string
	Host   string
	URI    string // request-target as received
	Header http.Header
	Query  url.Values
	Form   url.Values // POST body only
	Body   string
}

// recorder keeps the hits of a test server.
type recorder struct {
	mu   sync.Mutex
	hits []hit
}

func (rc *recorder) add(r *http.Request) (hit, int) {
	body, _ := io.ReadAll(r.Body)
	h := hit{
		Method: r.Method,
		Host:   r.Host,
		URI:    r.RequestURI,
		Header: r.Header.Clone(),
		Query:  r.URL.Query(),
		Body:   string(body),
	}
	if r.Method == http.MethodPost {
		h.Form, _ = url.ParseQuery(string(body))
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hits = append(rc.hits, h)
	return h, len(rc.hits)
}

func (rc *recorder) all() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.hits)
}

// serve starts an httptest server whose handler gets each request with its
// 1-based arrival number.
func serve(t testing.TB, handler func(w http.ResponseWriter, r *http.Request, h hit, n int)) (*httptest.Server, *recorder) {
	t.Helper()
	rc := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, n := rc.add(r)
		handler(w, r, h, n)
	}))
	t.Cleanup(srv.Close)
	return srv, rc
}

// twiml answers with a minimal TwiML document.
func twiml(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Say>hi</Say></Response>`)
}

// stall blocks until the client goes away (or the test ends).
func stall(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// newClient builds a client with cfg adjusted by mod, closed at test end.
func newClient(t testing.TB, mod func(*Config), opts ...Option) *Client {
	t.Helper()
	cfg := DefaultConfig()
	cfg.CallbackWorkers = 4
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// asError asserts err is an *Error with the code.
func asError(t *testing.T, err error, code int) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %d, got nil", code)
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("want *Error, got %T: %v", err, err)
	}
	if e.Code != code {
		t.Fatalf("want code %d, got %d: %v", code, e.Code, e)
	}
	return e
}

var bg = context.Background()
