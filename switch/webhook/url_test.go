package webhook

import (
	"errors"
	"testing"
	"time"
)

func TestParseOverrides(t *testing.T) {
	def := DefaultConfig().overrides()
	ms := time.Millisecond
	tests := []struct {
		fragment string
		want     Overrides
	}{
		{"", def},
		{"ct=1000&rc=2", Overrides{Connect: 1000 * ms, Read: def.Read, Total: def.Total, Retries: 2, RetryOn: RetryConnect}},
		{"rt=200&tt=900&rp=5xx,rt", Overrides{Connect: def.Connect, Read: 200 * ms, Total: 900 * ms, Retries: 1, RetryOn: Retry5xx | RetryRead, TotalSet: true}},
		// clamped to the §3.1 ranges
		{"ct=5&rt=1&tt=99999&rc=9", Overrides{Connect: 100 * ms, Read: 100 * ms, Total: 15000 * ms, Retries: 5, RetryOn: RetryConnect, TotalSet: true}},
		{"ct=99999999999999999999", Overrides{Connect: 10000 * ms, Read: def.Read, Total: def.Total, Retries: 1, RetryOn: RetryConnect}},
		// malformed values and unknown keys ignored
		{"ct=-5&rt=abc&rc=&tt&zz=1&sni=n&e=dublin&rp=bogus", def},
		{"rp=ALL", Overrides{Connect: def.Connect, Read: def.Read, Total: def.Total, Retries: 1, RetryOn: RetryAll}},
		{"rp=4xx,,bogus,ct", Overrides{Connect: def.Connect, Read: def.Read, Total: def.Total, Retries: 1, RetryOn: Retry4xx | RetryConnect}},
		{"rc=0&rc=3", Overrides{Connect: def.Connect, Read: def.Read, Total: def.Total, Retries: 3, RetryOn: RetryConnect}},
	}
	for _, tt := range tests {
		t.Run(tt.fragment, func(t *testing.T) {
			if got := ParseOverrides(tt.fragment, def); got != tt.want {
				t.Errorf("ParseOverrides(%q) = %+v, want %+v", tt.fragment, got, tt.want)
			}
		})
	}
}

func TestParseRetryOn(t *testing.T) {
	r, err := ParseRetryOn("4xx, 5xx ,ct,rt")
	if err != nil || r != Retry4xx|Retry5xx|RetryConnect|RetryRead || r.String() != "4xx,5xx,ct,rt" {
		t.Errorf("got %v (%s), %v", r, r, err)
	}
	if r, _ := ParseRetryOn("all"); r.String() != "all" {
		t.Errorf("all → %s", r)
	}
	if _, err := ParseRetryOn("ct,never"); err == nil {
		t.Error("unknown token accepted in configuration")
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		raw                                       string
		ok                                        bool
		hostport, host, port, pathQuery, fragment string
		https                                     bool
		userinfo                                  string
	}{
		{raw: "http://example.com", ok: true, hostport: "example.com", host: "example.com"},
		{raw: "HTTPS://Example.com:8443/a/b?x=1&y#ct=100", ok: true, https: true, hostport: "Example.com:8443", host: "Example.com", port: "8443", pathQuery: "/a/b?x=1&y", fragment: "ct=100"},
		{raw: "http://u:p%40@h.io/p", ok: true, hostport: "h.io", host: "h.io", pathQuery: "/p", userinfo: "u:p%40"},
		{raw: "http://[::1]:8080/x", ok: true, hostport: "[::1]:8080", host: "::1", port: "8080", pathQuery: "/x"},
		{raw: "http://h?q=1", ok: true, hostport: "h", host: "h", pathQuery: "?q=1"},
		{raw: "http://h/p#", ok: true, hostport: "h", host: "h", pathQuery: "/p"},
		{raw: "mailto:x@y"},
		{raw: "http://"},
		{raw: "http://h:0/"},
		{raw: "http://h:/"},
		{raw: "http://h:abc/"},
		{raw: "http://[::1/"},
		{raw: "http://[zz::1]/"},
		{raw: "http://exa mple.com/"},
		{raw: "http://example.com/\x00"},
		{raw: "http://exämple.com/"},
		{raw: "http://ex%61mple.com/"},
		{raw: "//example.com/p"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseTarget(tt.raw)
			if (err == nil) != tt.ok {
				t.Fatalf("parseTarget(%q) err = %v, want ok=%v", tt.raw, err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if got.hostport != tt.hostport || got.host != tt.host || got.port != tt.port || got.pathQuery != tt.pathQuery ||
				got.fragment != tt.fragment || got.https != tt.https || got.userinfo != tt.userinfo {
				t.Errorf("parseTarget(%q) = %+v", tt.raw, got)
			}
		})
	}
}

func TestResolveURL(t *testing.T) {
	const base = "https://app.example.com/voice/start?x=1#rt=100"
	tests := []struct {
		base, ref, want string
		err             bool
	}{
		{base, "next", "https://app.example.com/voice/next", false},
		{base, "/gather/done?step=2", "https://app.example.com/gather/done?step=2", false},
		{base, "../up", "https://app.example.com/up", false},
		{base, "?y=2", "https://app.example.com/voice/start?y=2", false},
		{base, "next#ct=1000&rc=3", "https://app.example.com/voice/next#ct=1000&rc=3", false},
		{base, "//other.example.org/p", "https://other.example.org/p", false},
		{base, "http://abs.example.net/a#tt=500", "http://abs.example.net/a#tt=500", false},
		{"https://u:p@h.com/a/b", "c", "https://u:p@h.com/a/c", false},
		{"", "http://abs.example.net/a", "http://abs.example.net/a", false},
		{"", "relative", "", true},
		{base, "", "", true},
		{base, "javascript:alert(1)", "", true},
		{base, "ftp://x/y", "", true},
		{"not a url", "next", "", true},
		{base, "next page", "", true},
		{base, "  \n next\n ", "https://app.example.com/voice/next", false},
		{base, "caf\u00e9", "https://app.example.com/voice/caf%C3%A9", false},
	}
	for _, tt := range tests {
		t.Run(tt.base+" + "+tt.ref, func(t *testing.T) {
			got, err := ResolveURL(tt.base, tt.ref)
			if tt.err {
				if err == nil || !errors.Is(err, ErrInvalidURL) {
					t.Errorf("ResolveURL = %q, %v; want an ErrInvalidURL", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ResolveURL = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h.com/a?b=1#ct=5": "https://h.com/a?b=1",
		"https://h.com/a@b":            "https://h.com/a@b",
		"http://h.com#x":               "http://h.com",
		"nonsense":                     "nonsense",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		e        *Error
		eligible bool
		reason   string
	}{
		{&Error{Code: CodeRetrievalFailure, HTTPStatus: 404}, true, ReasonHTTP4xx},
		{&Error{Code: CodeRetrievalFailure, HTTPStatus: 503}, true, ReasonHTTP5xx},
		{&Error{Code: CodeConnectionFailure, Err: ErrReadTimeout}, true, ReasonTimeout},
		{&Error{Code: CodeConnectionFailure}, true, ReasonConnect},
		{&Error{Code: CodeTotalTimeout, Err: ErrTotalTimeout}, true, ReasonTimeout},
		{&Error{Code: CodeBodyTooLarge}, true, ReasonBodyTooLarge},
		{&Error{Code: CodeContentType}, true, ReasonContentType},
		{&Error{Code: CodeDocumentParse}, true, ReasonOther},
		{&Error{Code: CodeTooManyRedirects}, true, ReasonRedirects},
		{&Error{Code: CodeInvalidURL}, true, ReasonInvalidURL},
		{&Error{Code: CodeRetrievalFailure, Err: ErrClosed}, false, ReasonClosed},
		{&Error{Code: 99999}, false, ReasonOther},
	}
	for _, tt := range tests {
		if tt.e.FallbackEligible() != tt.eligible || tt.e.Reason() != tt.reason {
			t.Errorf("%v: eligible=%v reason=%q, want %v %q", tt.e, tt.e.FallbackEligible(), tt.e.Reason(), tt.eligible, tt.reason)
		}
	}
	e := &Error{Code: CodeRetrievalFailure, URL: "http://h/x", HTTPStatus: 500, Err: ErrHTTPStatus}
	if got := e.Error(); got != "webhook 11200 (HTTP retrieval failure) http://h/x: HTTP 500: HTTP error status" {
		t.Errorf("Error() = %q", got)
	}
}
