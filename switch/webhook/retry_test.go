package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// downAddr returns a loopback address nothing listens on: connecting gets
// a real "connection refused".
func downAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// countingDialer dials for real and counts the dials.
func countingDialer(n *atomic.Int32) Option {
	d := &net.Dialer{}
	return WithDialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return d.DialContext(ctx, network, addr)
	})
}

func TestConnectFailureRetriedPerRcRp(t *testing.T) {
	addr := downAddr(t)
	tests := []struct {
		name     string
		fragment string
		dials    int32
	}{
		{"defaults rc=1 rp=ct", "", 2},
		{"rc=2 rp=ct", "#ct=500&rc=2&rp=ct", 3},
		{"rc=0", "#rc=0", 1},
		{"rp=5xx does not retry connects", "#rc=3&rp=5xx", 1},
		{"rp=all", "#rc=2&rp=all", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dials atomic.Int32
			c := newClient(t, nil, countingDialer(&dials))
			_, err := c.Fetch(bg, Request{URL: "http://" + addr + "/v" + tt.fragment, Params: callParams})
			e := asError(t, err, CodeConnectionFailure)
			if dials.Load() != tt.dials || e.Attempts != int(tt.dials) {
				t.Errorf("dials=%d Attempts=%d, want %d", dials.Load(), e.Attempts, tt.dials)
			}
			if !e.FallbackEligible() || e.Reason() != ReasonConnect {
				t.Errorf("FallbackEligible=%v Reason=%q", e.FallbackEligible(), e.Reason())
			}
		})
	}
}

func TestReadTimeoutRetriedOnlyWithRpRt(t *testing.T) {
	tests := []struct {
		name     string
		fragment string
		attempts int
	}{
		{"rt only: not retried (rp defaults to ct)", "#rt=200", 1},
		{"rp=rt rc=1", "#rt=200&rp=rt&rc=1", 2},
		{"rp=ct,rt rc=2", "#rt=150&rp=ct,rt&rc=2", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, func(_ http.ResponseWriter, r *http.Request, _ hit, _ int) { stall(r) })
			c := newClient(t, nil)
			_, err := c.Fetch(bg, Request{URL: srv.URL + "/v" + tt.fragment, Params: callParams})
			e := asError(t, err, CodeConnectionFailure)
			if !errors.Is(e, ErrReadTimeout) || e.Reason() != ReasonTimeout {
				t.Errorf("error %v: want ErrReadTimeout, reason timeout (got %q)", e, e.Reason())
			}
			if n := rec.count(); n != tt.attempts {
				t.Errorf("server saw %d attempts, want %d", n, tt.attempts)
			}
		})
	}
}

// rt is an idle timeout: a server that trickles a response with gaps
// shorter than rt is read to the end even though the whole response takes
// longer than rt.
func TestReadTimeoutIsBetweenPackets(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) {
		w.Header().Set("Content-Type", "text/xml")
		f := w.(http.Flusher)
		for _, part := range []string{"<Response>", "<Say>a</Say>", "<Say>b</Say>", "</Response>"} {
			_, _ = w.Write([]byte(part))
			f.Flush()
			time.Sleep(120 * time.Millisecond)
		}
	})
	c := newClient(t, nil)
	resp, err := c.Fetch(bg, Request{URL: srv.URL + "/v#rt=400&rc=0", Params: callParams})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if string(resp.Body) != "<Response><Say>a</Say><Say>b</Say></Response>" {
		t.Errorf("body %q", resp.Body)
	}
}

func TestHTTPStatusRetriedOnlyWhenRpIncludesIt(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		fragment string
		attempts int
	}{
		{"500 default rp=ct", 500, "", 1},
		{"500 rp=5xx rc=2", 500, "#rp=5xx&rc=2", 3},
		{"503 rp=4xx", 503, "#rp=4xx&rc=2", 1},
		{"404 rp=4xx rc=1", 404, "#rp=4xx&rc=1", 2},
		{"404 rp=5xx", 404, "#rp=5xx&rc=3", 1},
		{"502 rp=all rc=5", 502, "#rp=all&rc=5", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) {
				http.Error(w, "no", tt.status)
			})
			c := newClient(t, nil)
			_, err := c.Fetch(bg, Request{URL: srv.URL + "/v" + tt.fragment, Params: callParams})
			e := asError(t, err, CodeRetrievalFailure)
			if e.HTTPStatus != tt.status || !errors.Is(e, ErrHTTPStatus) {
				t.Errorf("HTTPStatus=%d err=%v", e.HTTPStatus, e)
			}
			if n := rec.count(); n != tt.attempts || e.Attempts != tt.attempts {
				t.Errorf("server saw %d, Attempts=%d, want %d", n, e.Attempts, tt.attempts)
			}
		})
	}
}

// tt bounds all attempts together: with rt=200 and rc=5 a stalled server
// would be tried 6 times (1.2 s); tt=500 stops it after the third attempt
// is cut short, and the error is 11203 because tt was set explicitly.
func TestTotalTimeoutBoundsRetries(t *testing.T) {
	srv, rec := serve(t, func(_ http.ResponseWriter, r *http.Request, _ hit, _ int) { stall(r) })
	c := newClient(t, nil)
	_, err := c.Fetch(bg, Request{URL: srv.URL + "/v#rt=200&tt=500&rc=5&rp=rt", Params: callParams})
	e := asError(t, err, CodeTotalTimeout)
	if !errors.Is(e, ErrTotalTimeout) {
		t.Errorf("error %v does not wrap ErrTotalTimeout", e)
	}
	if n := rec.count(); n < 2 || n > 3 {
		t.Errorf("server saw %d attempts, want 2 or 3 (tt stops before rc=5 does)", n)
	}
}

func TestConnectionPoolFullIsConnectFailure(t *testing.T) {
	release := make(chan struct{})
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ hit, n int) {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		twiml(w)
	})
	c := newClient(t, func(cfg *Config) { cfg.MaxConnsPerHost = 1 })
	first := make(chan error, 1)
	go func() {
		_, err := c.Fetch(bg, Request{URL: srv.URL + "/v", Params: callParams})
		first <- err
	}()
	// Wait until the first request holds the only connection.
	for rec.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	_, err := c.Fetch(bg, Request{URL: srv.URL + "/v#ct=150&rc=0", Params: callParams})
	e := asError(t, err, CodeConnectionFailure)
	if !errors.Is(e, ErrNoFreeConns) {
		t.Errorf("error %v does not wrap ErrNoFreeConns", e)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first fetch: %v", err)
	}
	// Once released, the connection serves the next request.
	if _, err := c.Fetch(bg, Request{URL: srv.URL + "/v", Params: callParams}); err != nil {
		t.Errorf("fetch after release: %v", err)
	}
}

func TestContextCancelStopsFetchWithoutFallback(t *testing.T) {
	srv, _ := serve(t, func(_ http.ResponseWriter, r *http.Request, _ hit, _ int) { stall(r) })
	fb, fbRec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { twiml(w) })
	c := newClient(t, nil)
	ctx, cancel := context.WithCancel(bg)
	go func() {
		for c.Stats().Attempts == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, err := c.FetchWithFallback(ctx, Request{URL: srv.URL + "/v", Params: callParams, FallbackURL: fb.URL})
	e := asError(t, err, CodeRetrievalFailure)
	if !errors.Is(e, context.Canceled) || e.FallbackEligible() || e.Reason() != ReasonCanceled {
		t.Errorf("error %v: want context.Canceled, not fallback-eligible", e)
	}
	if fbRec.count() != 0 {
		t.Error("fallback requested after cancellation")
	}
}

func TestContextDeadlineIsATimeout(t *testing.T) {
	srv, _ := serve(t, func(_ http.ResponseWriter, r *http.Request, _ hit, _ int) { stall(r) })
	c := newClient(t, nil)
	ctx, cancel := context.WithTimeout(bg, 150*time.Millisecond)
	defer cancel()
	_, err := c.Fetch(ctx, Request{URL: srv.URL + "/v", Params: callParams})
	e := asError(t, err, CodeConnectionFailure)
	if !errors.Is(e, ErrTotalTimeout) || !e.FallbackEligible() {
		t.Errorf("error %v: want a fallback-eligible total timeout", e)
	}
}

// A DNS failure cannot be caused on loopback without a resolver, so the
// dialer returns the *net.DNSError a real lookup of an unknown name gives.
func TestBadHostNameIs11210(t *testing.T) {
	var dials atomic.Int32
	c := newClient(t, nil, WithDialer(func(_ context.Context, _, addr string) (net.Conn, error) {
		dials.Add(1)
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}))
	_, err := c.Fetch(bg, Request{URL: "http://no-such-app.invalid/v#rc=1&rp=ct", Params: callParams})
	e := asError(t, err, CodeBadHostName)
	if dials.Load() != 2 || e.Reason() != ReasonDNS || !e.FallbackEligible() {
		t.Errorf("dials=%d reason=%q eligible=%v", dials.Load(), e.Reason(), e.FallbackEligible())
	}
}

func TestHTTPSWithTrustedAndUntrustedCertificates(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { twiml(w) }))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	trusting := newClient(t, nil, WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	resp, err := trusting.Fetch(bg, Request{URL: srv.URL + "/v", Params: callParams})
	if err != nil {
		t.Fatalf("trusted: %v", err)
	}
	if resp.Kind != KindTwiML || !strings.HasPrefix(resp.URL, "https://") {
		t.Errorf("response %v %q", resp.Kind, resp.URL)
	}

	plain := newClient(t, nil)
	_, err = plain.Fetch(bg, Request{URL: srv.URL + "/v#rc=0", Params: callParams})
	e := asError(t, err, CodeCertUnknownCA)
	if e.Reason() != ReasonTLS || !e.FallbackEligible() {
		t.Errorf("reason %q eligible %v", e.Reason(), e.FallbackEligible())
	}
}
