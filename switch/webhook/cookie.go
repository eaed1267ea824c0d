package webhook

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Bounds of one jar: an application cannot make a call hold unbounded state.
const (
	maxJarCookies   = 50
	maxCookieLength = 4096
)

// CookieJar keeps the cookies applications set during one call and sends
// them back on that call's later requests (twilio-voice.md §0: Twilio
// "accepts cookies and sends them back on later requests"). The call path
// makes one jar per call and passes it in every Request of that call, so
// cookies never cross calls. A nil *CookieJar keeps nothing.
//
// It follows RFC 6265 §5.3 in the parts that matter for webhooks: host-only
// and Domain cookies (a Domain attribute must domain-match the request
// host), Path (default path per §5.1.4), Secure, Max-Age and Expires. There
// is no public-suffix check: a jar lives for one call of one account, so a
// cookie set for a broad domain can only reach that account's own URLs.
// Safe for concurrent use.
type CookieJar struct {
	mu      sync.Mutex
	cookies []jarCookie
}

type jarCookie struct {
	name, value  string
	domain, path string
	hostOnly     bool
	secure       bool
	expires      time.Time // zero: session cookie (lives as long as the call)
}

// NewCookieJar returns an empty jar.
func NewCookieJar() *CookieJar { return &CookieJar{} }

// Len returns the number of cookies held.
func (j *CookieJar) Len() int {
	if j == nil {
		return 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.cookies)
}

// setCookie stores one Set-Cookie header value received from t.
func (j *CookieJar) setCookie(t *target, line []byte, now time.Time) {
	if j == nil || len(line) > maxCookieLength {
		return
	}
	c, err := http.ParseSetCookie(string(line))
	if err != nil || c.Name == "" {
		return
	}
	host := strings.ToLower(t.host)
	jc := jarCookie{name: c.Name, value: c.Value, secure: c.Secure}
	if d := strings.TrimPrefix(strings.ToLower(c.Domain), "."); d != "" {
		if !domainMatch(host, d) {
			return // §5.3 step 6: a Domain the host does not belong to
		}
		jc.domain = d
	} else {
		jc.domain, jc.hostOnly = host, true
	}
	if c.Path != "" && c.Path[0] == '/' {
		jc.path = c.Path
	} else {
		jc.path = defaultCookiePath(t.pathQuery)
	}
	expired := false
	switch {
	case c.MaxAge < 0: // Max-Age=0 or negative
		expired = true
	case c.MaxAge > 0:
		jc.expires = now.Add(time.Duration(c.MaxAge) * time.Second)
	case !c.Expires.IsZero():
		jc.expires = c.Expires
		expired = !c.Expires.After(now)
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.cookies {
		old := &j.cookies[i]
		if old.name == jc.name && old.domain == jc.domain && old.path == jc.path {
			if expired {
				j.cookies = append(j.cookies[:i], j.cookies[i+1:]...)
			} else {
				*old = jc
			}
			return
		}
	}
	if expired || len(j.cookies) >= maxJarCookies {
		return
	}
	j.cookies = append(j.cookies, jc)
}

// appendCookieHeader appends the Cookie header value for a request to t
// (RFC 6265 §5.4), or nothing.
func (j *CookieJar) appendCookieHeader(dst []byte, t *target, now time.Time) []byte {
	if j == nil {
		return dst
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.cookies) == 0 {
		return dst
	}
	path := t.pathQuery
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		path = "/"
	}
	first := true
	kept := j.cookies[:0]
	for _, c := range j.cookies {
		if !c.expires.IsZero() && !c.expires.After(now) {
			continue // expired: drop it
		}
		kept = append(kept, c)
		if c.secure && !t.https {
			continue
		}
		if c.hostOnly {
			if !strings.EqualFold(c.domain, t.host) {
				continue
			}
		} else if !domainMatch(strings.ToLower(t.host), c.domain) {
			continue
		}
		if !pathMatch(path, c.path) {
			continue
		}
		if !first {
			dst = append(dst, "; "...)
		}
		first = false
		dst = append(dst, c.name...)
		dst = append(dst, '=')
		dst = append(dst, c.value...)
	}
	clear(j.cookies[len(kept):])
	j.cookies = kept
	return dst
}

// domainMatch is RFC 6265 §5.1.3 for lower-case host and domain.
func domainMatch(host, domain string) bool {
	if host == domain {
		return true
	}
	return strings.HasSuffix(host, domain) && host[len(host)-len(domain)-1] == '.' && !isIPLiteral(host)
}

func isIPLiteral(h string) bool {
	if strings.IndexByte(h, ':') >= 0 {
		return true
	}
	for i := 0; i < len(h); i++ {
		if (h[i] < '0' || h[i] > '9') && h[i] != '.' {
			return false
		}
	}
	return true
}

// pathMatch is RFC 6265 §5.1.4.
func pathMatch(reqPath, cookiePath string) bool {
	if !strings.HasPrefix(reqPath, cookiePath) {
		return false
	}
	return len(reqPath) == len(cookiePath) || cookiePath[len(cookiePath)-1] == '/' || reqPath[len(cookiePath)] == '/'
}

// defaultCookiePath is RFC 6265 §5.1.4's default-path of a request path.
func defaultCookiePath(pathQuery string) string {
	p := pathQuery
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" || p[0] != '/' {
		return "/"
	}
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/"
	}
	return p[:i]
}
