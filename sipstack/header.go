package sipstack

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Header is one SIP header line, as received or to be sent.
type Header struct {
	Name  string
	Value string
}

// Address is a name-addr (From, To): display name, URI and its parts.
type Address struct {
	Display string
	URI     string // sip:alice@example.com (no tag)
	User    string
	Host    string
	Tag     string
}

func addressFromFrom(h *sip.FromHeader) Address {
	if h == nil {
		return Address{}
	}
	tag, _ := h.Params.Get("tag")
	return Address{Display: h.DisplayName, URI: uriNoHeaders(&h.Address), User: h.Address.User, Host: h.Address.Host, Tag: tag}
}

func addressFromTo(h *sip.ToHeader) Address {
	if h == nil {
		return Address{}
	}
	tag, _ := h.Params.Get("tag")
	return Address{Display: h.DisplayName, URI: uriNoHeaders(&h.Address), User: h.Address.User, Host: h.Address.Host, Tag: tag}
}

func uriNoHeaders(u *sip.Uri) string {
	c := *u
	c.Headers = nil
	return c.String()
}

// HeaderValue returns the first value of the named header (case-insensitive,
// compact forms not expanded) from hs.
func HeaderValue(hs []Header, name string) (string, bool) {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// coreHeaders are the headers the stack owns; an application (or a URI's
// ?headers) may not set them, or a TwiML author could rewrite routing.
var coreHeaders = map[string]bool{
	"via": true, "v": true, "from": true, "f": true, "to": true, "t": true,
	"call-id": true, "i": true, "cseq": true, "contact": true, "m": true,
	"max-forwards": true, "content-length": true, "l": true,
	"content-type": true, "c": true, "route": true, "record-route": true,
	"proxy-authorization": true, "authorization": true, "expires": true,
	"require": true, "proxy-require": true, "supported": true, "k": true,
	"allow": true, "user-agent": true, "event": true, "o": true, "refer-to": true, "r": true,
	"content-encoding": true, "e": true, "subscription-state": true,
}

// checkHeader rejects core headers and values that could inject lines.
func checkHeader(h Header) error {
	if h.Name == "" || !isToken(h.Name) {
		return fmt.Errorf("header name %q: %w", h.Name, ErrHeaderNotAllowed)
	}
	if coreHeaders[strings.ToLower(h.Name)] {
		return fmt.Errorf("header %s: %w", h.Name, ErrHeaderNotAllowed)
	}
	for i := 0; i < len(h.Value); i++ {
		if c := h.Value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("header %s: control character in value: %w", h.Name, ErrHeaderNotAllowed)
		}
	}
	return nil
}

// isToken reports whether s is an RFC 3261 token (header names).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return len(s) > 0
}

// SplitURIHeaders splits the "?name=value&..." part off a SIP URI, as used by
// TwiML <Sip> and REFER Refer-To (RFC 3261 §19.1.1): it returns the URI
// without headers and the headers, percent-decoded, in order. Twilio limits
// the header part to 1024 characters; so does this. Core headers (Via, From,
// Call-ID, …) and values with control characters are refused.
func SplitURIHeaders(uri string) (string, []Header, error) {
	i := strings.IndexByte(uri, '?')
	if i < 0 {
		return uri, nil, nil
	}
	base, rest := uri[:i], uri[i+1:]
	if len(rest) > 1024 {
		return "", nil, ErrHeadersTooLong
	}
	var hs []Header
	for rest != "" {
		var part string
		if j := strings.IndexByte(rest, '&'); j >= 0 {
			part, rest = rest[:j], rest[j+1:]
		} else {
			part, rest = rest, ""
		}
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, err := url.PathUnescape(name)
		if err != nil {
			return "", nil, fmt.Errorf("uri header name %q: %w", name, ErrBadTarget)
		}
		v, err := url.PathUnescape(value)
		if err != nil {
			return "", nil, fmt.Errorf("uri header %s value: %w", n, ErrBadTarget)
		}
		h := Header{Name: n, Value: v}
		if err := checkHeader(h); err != nil {
			return "", nil, err
		}
		hs = append(hs, h)
	}
	return base, hs, nil
}

// headersNamed returns the headers called name (case-insensitive). sipgo's
// GetHeaders lower-cases every header name of the message on each call,
// which showed up at 13% of CPU per INVITE.
func headersNamed(m interface{ Headers() []sip.Header }, name string) []sip.Header {
	var out []sip.Header
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			out = append(out, h)
		}
	}
	return out
}
