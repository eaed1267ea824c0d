package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// maxURLLen bounds a configured URL (GET parameters are added after this
// check).
const maxURLLen = 8192

// target is a webhook URL split into the parts the client needs. Every
// string is a substring of raw, so parsing allocates nothing.
type target struct {
	raw       string // as configured, fragment included
	https     bool
	scheme    string // as written ("http", "HTTPS", ...)
	userinfo  string // "user:pass" (still percent-encoded), or ""
	hostport  string // authority without userinfo: the Host header
	host      string // host name or IP, without brackets and port
	port      string // explicit port, or ""
	pathQuery string // path and query as written; may be empty
	fragment  string // text after '#'
	noFrag    string // raw without the fragment (the document URL)
}

// parseTarget validates an absolute http(s) URL. It is deliberately strict
// (error 11100 rather than guessing): no spaces, control characters or
// non-ASCII bytes (those must be percent-encoded), a host of letters,
// digits, '-', '.', '_' or a bracketed IPv6 address, and a numeric port.
func parseTarget(raw string) (target, error) {
	t := target{raw: raw}
	if raw == "" {
		return t, errors.New("empty URL")
	}
	if len(raw) > maxURLLen {
		return t, fmt.Errorf("URL longer than %d bytes", maxURLLen)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return t, fmt.Errorf("URL has a space, control or non-ASCII byte at offset %d", i)
		}
	}
	t.noFrag, t.fragment, _ = strings.Cut(raw, "#")
	scheme, rest, ok := strings.Cut(t.noFrag, "://")
	if !ok {
		return t, errors.New("URL is not absolute (want http:// or https://)")
	}
	switch {
	case strings.EqualFold(scheme, "http"):
	case strings.EqualFold(scheme, "https"):
		t.https = true
	default:
		return t, fmt.Errorf("unsupported scheme %q", scheme)
	}
	t.scheme = scheme
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	t.pathQuery = rest[end:]
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		t.userinfo = authority[:i]
		authority = authority[i+1:]
		if !validUserinfo(t.userinfo) || !validEscapes(t.userinfo) {
			return t, errors.New("invalid credentials in URL")
		}
	}
	t.hostport = authority
	if p, _, _ := strings.Cut(t.pathQuery, "?"); !validEscapes(p) {
		return t, errors.New("invalid percent-encoding in path")
	}
	if authority == "" {
		return t, errors.New("URL has no host")
	}
	hostPart := authority
	if authority[0] == '[' {
		j := strings.IndexByte(authority, ']')
		if j < 0 {
			return t, errors.New("unterminated IPv6 address")
		}
		t.host = authority[1:j]
		if !validIPv6(t.host) {
			return t, fmt.Errorf("invalid IPv6 address %q", t.host)
		}
		hostPart = authority[:j+1]
		if rest := authority[j+1:]; rest != "" {
			if rest[0] != ':' {
				return t, fmt.Errorf("invalid authority %q", authority)
			}
			t.port = rest[1:]
			if !validPort(t.port) {
				return t, fmt.Errorf("invalid port %q", t.port)
			}
		}
	} else {
		if i := strings.LastIndexByte(authority, ':'); i >= 0 {
			hostPart, t.port = authority[:i], authority[i+1:]
			if !validPort(t.port) {
				return t, fmt.Errorf("invalid port %q", t.port)
			}
		}
		t.host = hostPart
		if !validHostName(t.host) {
			return t, fmt.Errorf("invalid host %q", t.host)
		}
	}
	return t, nil
}

// dialAddr is host:port with the scheme's default port.
func (t *target) dialAddr() string {
	if t.port != "" {
		return t.hostport
	}
	if t.https {
		return t.hostport + ":443"
	}
	return t.hostport + ":80"
}

// poolKey identifies a connection pool: scheme and authority. It is a
// substring of raw unless the URL carries credentials.
func (t *target) poolKey() string {
	if t.userinfo == "" {
		return t.noFrag[:len(t.noFrag)-len(t.pathQuery)]
	}
	return strings.ToLower(t.scheme) + "://" + t.hostport
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n >= 1 && n <= 65535
}

// validEscapes reports whether every '%' starts a %XX escape (RFC 3986
// §2.1), as net/url requires of a path.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validUserinfo is RFC 3986 §3.2.1: unreserved, pct-encoded, sub-delims
// and ':'.
func validUserinfo(u string) bool {
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:%", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

func validIPv6(h string) bool {
	a, err := netip.ParseAddr(h)
	return err == nil && a.Is6() && a.Zone() == ""
}

// RedactURL returns u without its #fragment and without user:pass@
// credentials: the form that is signed (twilio-voice.md §4.1), reported as
// ErrorUrl and written to logs.
func RedactURL(u string) string {
	u, _, _ = strings.Cut(u, "#")
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return u
	}
	return scheme + "://" + rest[at+1:]
}

// ResolveURL resolves ref (an attribute URL such as <Redirect>'s text or an
// action="..." value) against base, the URL of the current document
// (twilio-voice.md §0: relative URLs resolve against the current document).
// ref's own #fragment is kept, so its connection overrides apply; base's
// fragment is not inherited (RFC 3986 §5.2.2). An absolute ref is returned
// as given. Surrounding whitespace is trimmed; inner spaces and control
// bytes are an error; non-ASCII bytes of a relative ref come out
// percent-encoded. Without a base (a call started with the Twiml
// parameter) only absolute http(s) URLs are accepted. Errors wrap
// ErrInvalidURL.
func ResolveURL(base, ref string) (string, error) {
	ref = strings.TrimSpace(ref) // TwiML text content often has surrounding whitespace
	if ref == "" {
		return "", wrapf(ErrInvalidURL, "empty URL")
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; c <= ' ' || c == 0x7f {
			return "", wrapf(ErrInvalidURL, "URL has a space or control byte at offset %d", i)
		}
	}
	if t, err := parseTarget(ref); err == nil {
		return t.raw, nil
	}
	if base == "" {
		return "", wrapf(ErrInvalidURL, "relative URL %q without a document URL", ref)
	}
	bt, err := parseTarget(base)
	if err != nil {
		return "", wrapf(ErrInvalidURL, "document URL: %v", err)
	}
	// A scheme-relative "//host/p" takes the document's scheme; anything
	// that resolves to a non-http(s) URL fails the final check.
	bu, err := url.Parse(bt.raw)
	if err != nil {
		return "", wrapf(ErrInvalidURL, "document URL: %v", err)
	}
	ru, err := url.Parse(ref)
	if err != nil {
		return "", wrapf(ErrInvalidURL, "%v", err)
	}
	out := bu.ResolveReference(ru).String()
	if _, err := parseTarget(out); err != nil {
		return "", wrapf(ErrInvalidURL, "resolved URL %q: %v", out, err)
	}
	return out, nil
}
