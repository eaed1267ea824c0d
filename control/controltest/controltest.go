// Package controltest helps tests drive the control API with unchanged
// Twilio helper libraries. twilio-go builds every URL on
// https://api.twilio.com (rest/api/v2010 ApiService.baseURL, and the
// next_page_uri it follows); the client returned here sends those requests to
// a local server instead. Only tests should import it.
//
// With twilio-go:
//
//	hc, err := controltest.HTTPClient(srv.URL)
//	c := &client.Client{Credentials: client.NewCredentials(sid, token), HTTPClient: hc}
//	c.SetAccountSid(sid)
//	tw := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
package controltest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Transport rewrites requests for Twilio's API hosts (*.twilio.com, which
// includes edge and region forms) to Base and sends them with Next.
type Transport struct {
	Base *url.URL
	Next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Hostname()
	if host != "twilio.com" && !strings.HasSuffix(host, ".twilio.com") {
		return nil, fmt.Errorf("controltest: refusing a request to %s: only Twilio API hosts are redirected", host)
	}
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = t.Base.Scheme, t.Base.Host
	out.Host = t.Base.Host
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(out)
}

// CloseIdleConnections closes the idle connections of the next transport,
// so that http.Client.CloseIdleConnections reaches it.
func (t *Transport) CloseIdleConnections() {
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if c, ok := next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// HTTPClient returns an http.Client that sends Twilio API requests to base
// (e.g. an httptest.Server's URL). Like twilio-go's default client it does
// not follow redirects and gives up on a response after 10 s; the limit is
// the transport's, not http.Client.Timeout, whose per-request timer
// goroutine outlives error responses (twilio-go never closes their bodies)
// and would trip goleak. Call CloseIdleConnections when done.
func HTTPClient(base string) (*http.Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("controltest: base URL %q: %w", base, err)
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("controltest: base URL %q: want http(s)://host[:port]", base)
	}
	return &http.Client{
		Transport: &Transport{Base: u, Next: &http.Transport{
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}
