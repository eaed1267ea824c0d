package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The content-type table of twilio-voice.md §0, over a real server.
func TestFetchContentTypeRules(t *testing.T) {
	const doc = `<?xml version="1.0"?><Response><Say>hi</Say></Response>`
	tests := []struct {
		name        string
		contentType string // "-" sends no Content-Type at all
		body        string
		kind        Kind   // 0: error
		code        int    // expected error code
		mediaType   string // Response.ContentType
	}{
		{"text/xml", "text/xml", doc, KindTwiML, 0, "text/xml"},
		{"application/xml charset", "application/xml; charset=utf-8", doc, KindTwiML, 0, "application/xml"},
		{"text/html", "text/html", doc, KindTwiML, 0, "text/html"},
		{"upper case", "TEXT/XML;Charset=UTF-8", doc, KindTwiML, 0, "text/xml"},
		{"plain valid TwiML", "text/plain", doc, KindTwiML, 0, "text/plain"},
		{"plain TwiML no prolog", "text/plain; charset=utf-8", "\n <Response><Hangup/></Response>\n", KindTwiML, 0, "text/plain"},
		{"plain text", "text/plain", "Hello, this is the office.", KindText, 0, "text/plain"},
		{"plain other XML root", "text/plain", "<Foo><Say>x</Say></Foo>", KindText, 0, "text/plain"},
		{"plain broken XML", "text/plain", "<Response><Say>x</Response>", KindText, 0, "text/plain"},
		{"plain two roots", "text/plain", "<Response/><Response/>", KindText, 0, "text/plain"},
		{"audio/mpeg", "audio/mpeg", "ID3....", KindAudio, 0, "audio/mpeg"},
		{"audio/wav", "audio/x-wav", "RIFF....", KindAudio, 0, "audio/x-wav"},
		{"no content type", "-", doc, 0, CodeContentType, ""},
		{"json", "application/json", `{"say":"hi"}`, 0, CodeContentType, ""},
		{"audio prefix only", "audio/", "x", 0, CodeContentType, ""},
		{"xhtml", "application/xhtml+xml", doc, 0, CodeContentType, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) {
				if tt.contentType == "-" {
					w.Header()["Content-Type"] = nil // stop net/http from sniffing one
				} else {
					w.Header().Set("Content-Type", tt.contentType)
				}
				_, _ = io.WriteString(w, tt.body)
			})
			c := newClient(t, nil)
			resp, err := c.Fetch(bg, Request{URL: srv.URL + "/doc", Params: callParams})
			if tt.code != 0 {
				e := asError(t, err, tt.code)
				if !e.FallbackEligible() || !errors.Is(e, ErrContentType) || e.HTTPStatus != 200 {
					t.Errorf("error %v: eligible=%v status=%d", e, e.FallbackEligible(), e.HTTPStatus)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if resp.Kind != tt.kind || resp.ContentType != tt.mediaType {
				t.Errorf("Kind=%v ContentType=%q, want %v %q", resp.Kind, resp.ContentType, tt.kind, tt.mediaType)
			}
			switch tt.kind {
			case KindAudio:
				if resp.Body != nil || resp.URL != srv.URL+"/doc" {
					t.Errorf("audio: Body=%q URL=%q, want no body and the URL to play", resp.Body, resp.URL)
				}
			default:
				if string(resp.Body) != tt.body {
					t.Errorf("Body=%q", resp.Body)
				}
			}
		})
	}
}

func TestFetchBodySizeLimit(t *testing.T) {
	const limit = 64 * 1024
	doc := func(n int) string { // a TwiML document of exactly n bytes
		head, tail := "<Response><Say>", "</Say></Response>"
		return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
	}
	tests := []struct {
		name    string
		size    int
		chunked bool
		code    int
	}{
		{"exactly 64 kB", limit, false, 0},
		{"64 kB + 1 with Content-Length", limit + 1, false, CodeBodyTooLarge},
		{"64 kB chunked", limit, true, 0},
		{"64 kB + 1 chunked", limit + 1, true, CodeBodyTooLarge},
		{"1 MB with Content-Length", 1 << 20, false, CodeBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := doc(tt.size)
			srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) {
				w.Header().Set("Content-Type", "text/xml")
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				for i := 0; i < len(body); i += 8192 {
					_, _ = io.WriteString(w, body[i:min(i+8192, len(body))])
					if tt.chunked {
						w.(http.Flusher).Flush()
					}
				}
			})
			c := newClient(t, nil)
			resp, err := c.Fetch(bg, Request{URL: srv.URL + "/big", Params: callParams})
			if tt.code != 0 {
				e := asError(t, err, tt.code)
				if !errors.Is(e, ErrBodyTooLarge) || !e.FallbackEligible() {
					t.Errorf("error %v", e)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if len(resp.Body) != tt.size {
				t.Errorf("body %d bytes, want %d", len(resp.Body), tt.size)
			}
		})
	}
}

func TestFetchFollowsRedirectsUpToTen(t *testing.T) {
	// /r/N redirects to /r/N-1 (alternating absolute and relative
	// Location headers); /r/0 answers TwiML.
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ hit, _ int) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if n == 0 {
			twiml(w)
			return
		}
		loc := fmt.Sprintf("/r/%d", n-1)
		if n%2 == 0 {
			loc = "http://" + r.Host + loc
		}
		http.Redirect(w, r, loc, http.StatusFound)
	})
	tests := []struct {
		hops int
		code int
	}{
		{1, 0},
		{10, 0},
		{11, CodeTooManyRedirects},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.hops), func(t *testing.T) {
			before := rec.count()
			c := newClient(t, nil)
			resp, err := c.Fetch(bg, Request{URL: fmt.Sprintf("%s/r/%d", srv.URL, tt.hops), Method: "GET", Params: callParams})
			if tt.code != 0 {
				e := asError(t, err, tt.code)
				if !errors.Is(e, ErrTooManyRedirects) || !e.FallbackEligible() {
					t.Errorf("error %v", e)
				}
				if n := rec.count() - before; n != 11 {
					t.Errorf("server saw %d requests, want 11 (the original and 10 redirects)", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if resp.Redirects != tt.hops || resp.URL != srv.URL+"/r/0" {
				t.Errorf("Redirects=%d URL=%q", resp.Redirects, resp.URL)
			}
		})
	}
}

func TestRedirectMethodsAndSigning(t *testing.T) {
	tests := []struct {
		status     int
		wantMethod string
	}{
		{http.StatusMovedPermanently, "GET"},
		{http.StatusFound, "GET"},
		{http.StatusSeeOther, "GET"},
		{http.StatusTemporaryRedirect, "POST"},
		{http.StatusPermanentRedirect, "POST"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ hit, _ int) {
				if r.URL.Path == "/old" {
					http.Redirect(w, r, "/new?v=2", tt.status)
					return
				}
				twiml(w)
			})
			c := newClient(t, nil)
			if _, err := c.Fetch(bg, Request{URL: srv.URL + "/old", Params: callParams, AuthToken: token}); err != nil {
				t.Fatal(err)
			}
			h := rec.all()[1]
			if h.Method != tt.wantMethod {
				t.Fatalf("redirected method %s, want %s", h.Method, tt.wantMethod)
			}
			// Either way the application still gets the call's parameters,
			// and the signature is over the new URL.
			var got string
			var signParams []Param
			if h.Method == "POST" {
				got = h.Form.Get("CallSid")
				signParams = callParams
			} else {
				got = h.Query.Get("CallSid")
				if h.Query.Get("v") != "2" {
					t.Errorf("Location's query lost: %q", h.URI)
				}
			}
			if got != "CA0123456789abcdef0123456789abcdef" {
				t.Errorf("CallSid %q after redirect (%s %s)", got, h.Method, h.URI)
			}
			if !ValidSignature(token, "http://"+h.Host+h.URI, signParams, h.Header.Get("X-Twilio-Signature")) {
				t.Error("redirected request is not signed for its own URL")
			}
			if rec.all()[0].Header.Get("I-Twilio-Idempotency-Token") != h.Header.Get("I-Twilio-Idempotency-Token") {
				t.Error("a redirect changed the idempotency token")
			}
		})
	}
}

func TestCookiesKeptPerJar(t *testing.T) {
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ hit, _ int) {
		switch r.URL.Path {
		case "/app/login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/app"})
			http.SetCookie(w, &http.Cookie{Name: "other", Value: "o1", Path: "/elsewhere"})
			http.SetCookie(w, &http.Cookie{Name: "secure", Value: "x", Secure: true})
			http.SetCookie(w, &http.Cookie{Name: "gone", Value: "g", MaxAge: -1})
		case "/app/logout":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "", Path: "/app", MaxAge: -1})
		}
		twiml(w)
	})
	c := newClient(t, nil)
	jarA, jarB := NewCookieJar(), NewCookieJar()
	fetch := func(path string, jar *CookieJar) string {
		t.Helper()
		if _, err := c.Fetch(bg, Request{URL: srv.URL + path, Params: callParams, Cookies: jar}); err != nil {
			t.Fatal(err)
		}
		hits := rec.all()
		return hits[len(hits)-1].Header.Get("Cookie")
	}
	if got := fetch("/app/login", jarA); got != "" {
		t.Errorf("first request sent cookies %q", got)
	}
	if got := fetch("/app/next", jarA); got != "session=s1" {
		t.Errorf("same jar, second request: Cookie %q, want session=s1 (path, Secure and Max-Age respected)", got)
	}
	if got := fetch("/app/next", jarB); got != "" {
		t.Errorf("another jar sent %q", got)
	}
	if got := fetch("/app/next", nil); got != "" {
		t.Errorf("no jar sent %q", got)
	}
	fetch("/app/logout", jarA)
	if got := fetch("/app/next", jarA); got != "" {
		t.Errorf("deleted cookie still sent: %q", got)
	}
}

func TestCookieJarRules(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mustTarget := func(u string) *target {
		tg, err := parseTarget(u)
		if err != nil {
			t.Fatal(err)
		}
		return &tg
	}
	tests := []struct {
		name      string
		setOn     string
		setCookie string
		sendTo    string
		at        time.Duration // after now
		want      string
	}{
		{"host-only same host", "http://a.example.com/x", "k=v", "http://a.example.com/y", 0, "k=v"},
		{"host-only not to subdomain", "http://example.com/", "k=v", "http://a.example.com/", 0, ""},
		{"domain cookie to subdomain", "http://example.com/", "k=v; Domain=example.com", "http://a.example.com/", 0, "k=v"},
		{"foreign domain rejected", "http://example.com/", "k=v; Domain=evil.com", "http://evil.com/", 0, ""},
		{"default path is the directory", "http://h.com/app/voice", "k=v", "http://h.com/app/status", 0, "k=v"},
		{"default path excludes siblings", "http://h.com/app/voice", "k=v", "http://h.com/other", 0, ""},
		{"path prefix needs a slash boundary", "http://h.com/", "k=v; Path=/app", "http://h.com/application", 0, ""},
		{"secure not over http", "https://h.com/", "k=v; Secure", "http://h.com/", 0, ""},
		{"secure over https", "https://h.com/", "k=v; Secure", "https://h.com/", 0, "k=v"},
		{"max-age honoured", "http://h.com/", "k=v; Max-Age=60", "http://h.com/", 59 * time.Second, "k=v"},
		{"max-age expired", "http://h.com/", "k=v; Max-Age=60", "http://h.com/", 61 * time.Second, ""},
		{"expires in the past", "http://h.com/", "k=v; Expires=Thu, 01 Jan 2015 00:00:00 GMT", "http://h.com/", 0, ""},
		{"garbage ignored", "http://h.com/", "=;;;", "http://h.com/", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := NewCookieJar()
			j.setCookie(mustTarget(tt.setOn), []byte(tt.setCookie), now)
			got := string(j.appendCookieHeader(nil, mustTarget(tt.sendTo), now.Add(tt.at)))
			if got != tt.want {
				t.Errorf("Cookie %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCookieJarBounded(t *testing.T) {
	j := NewCookieJar()
	tg, _ := parseTarget("http://h.com/")
	now := time.Now()
	for i := range 2 * maxJarCookies {
		j.setCookie(&tg, []byte(fmt.Sprintf("c%d=v", i)), now)
	}
	j.setCookie(&tg, []byte("big="+strings.Repeat("x", maxCookieLength)), now)
	if j.Len() != maxJarCookies {
		t.Errorf("jar holds %d cookies, want the cap %d", j.Len(), maxJarCookies)
	}
}

// A GET's parameters are in the URL the server saw; its redirect is
// followed as given, for every redirect status.
func TestRedirectOfGETFollowedAsGiven(t *testing.T) {
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ hit, _ int) {
				if r.URL.Path == "/old" {
					http.Redirect(w, r, "/new?v=2", status)
					return
				}
				twiml(w)
			})
			c := newClient(t, nil)
			if _, err := c.Fetch(bg, Request{URL: srv.URL + "/old", Method: "GET", Params: callParams, AuthToken: token}); err != nil {
				t.Fatal(err)
			}
			hits := rec.all()
			if hits[0].Query.Get("CallSid") == "" {
				t.Errorf("first GET lacks the parameters: %q", hits[0].URI)
			}
			if hits[1].Method != "GET" || hits[1].URI != "/new?v=2" {
				t.Errorf("redirected request %s %q, want GET /new?v=2", hits[1].Method, hits[1].URI)
			}
		})
	}
}
