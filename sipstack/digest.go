package sipstack

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Digest authentication (RFC 2617, RFC 7616 with SHA-256, RFC 3261 §22):
// parsing challenges and credentials, and computing responses, for both
// sides: answering a gateway's 401/407 and verifying a client.

var errDigest = errors.New("malformed digest header")

// authParams parses `Digest a=b, c="d"` into the scheme and its parameters
// (names lower-cased). Values may be tokens or quoted strings.
func authParams(v string) (scheme string, params map[string]string, err error) {
	v = strings.TrimSpace(v)
	sp := strings.IndexAny(v, " \t")
	if sp < 0 {
		return "", nil, errDigest
	}
	scheme, v = v[:sp], v[sp+1:]
	params = make(map[string]string, 8)
	for {
		v = strings.TrimLeft(v, " \t,")
		if v == "" {
			break
		}
		eq := strings.IndexByte(v, '=')
		if eq <= 0 {
			return "", nil, errDigest
		}
		name := strings.ToLower(strings.TrimSpace(v[:eq]))
		v = strings.TrimLeft(v[eq+1:], " \t")
		var val string
		if strings.HasPrefix(v, `"`) {
			var b strings.Builder
			i := 1
			closed := false
			for ; i < len(v); i++ {
				c := v[i]
				if c == '\\' && i+1 < len(v) {
					i++
					b.WriteByte(v[i])
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return "", nil, errDigest
			}
			val, v = b.String(), v[i:]
		} else {
			end := strings.IndexByte(v, ',')
			if end < 0 {
				end = len(v)
			}
			val, v = strings.TrimSpace(v[:end]), v[end:]
		}
		if len(params) > 32 {
			return "", nil, errDigest
		}
		params[name] = val
	}
	return scheme, params, nil
}

// digestChallenge is a WWW-Authenticate / Proxy-Authenticate challenge.
type digestChallenge struct {
	realm, nonce, opaque, algorithm, qop string
	stale                                bool
}

func parseChallenge(v string) (digestChallenge, error) {
	scheme, p, err := authParams(v)
	if err != nil {
		return digestChallenge{}, err
	}
	if !strings.EqualFold(scheme, "Digest") || p["nonce"] == "" {
		return digestChallenge{}, errDigest
	}
	c := digestChallenge{realm: p["realm"], nonce: p["nonce"], opaque: p["opaque"], algorithm: strings.ToUpper(p["algorithm"])}
	if c.algorithm == "" {
		c.algorithm = "MD5"
	}
	if _, ok := hashFor(c.algorithm); !ok {
		return digestChallenge{}, fmt.Errorf("algorithm %q: %w", c.algorithm, errDigest)
	}
	for _, q := range strings.Split(p["qop"], ",") {
		if strings.TrimSpace(q) == "auth" {
			c.qop = "auth"
		}
	}
	c.stale = strings.EqualFold(p["stale"], "true")
	return c, nil
}

func hashFor(alg string) (func() hash.Hash, bool) {
	switch strings.TrimSuffix(strings.ToUpper(alg), "-SESS") {
	case "MD5":
		return md5.New, true
	case "SHA-256":
		return sha256.New, true
	}
	return nil, false
}

func hexHash(h func() hash.Hash, parts ...string) string {
	x := h()
	for i, p := range parts {
		if i > 0 {
			x.Write([]byte{':'})
		}
		x.Write([]byte(p))
	}
	return hex.EncodeToString(x.Sum(nil))
}

// HA1 computes H(username:realm:password) for the algorithm ("MD5" or
// "SHA-256"); credential stores keep these instead of passwords.
func HA1(algorithm, username, realm, password string) string {
	h, ok := hashFor(algorithm)
	if !ok {
		h = md5.New
	}
	return hexHash(h, username, realm, password)
}

// digestResponse computes the request-digest from HA1.
func digestResponse(alg, ha1, nonce, nc, cnonce, qop, method, uri string) string {
	h, _ := hashFor(alg)
	if strings.HasSuffix(strings.ToUpper(alg), "-SESS") {
		ha1 = hexHash(h, ha1, nonce, cnonce)
	}
	ha2 := hexHash(h, method, uri)
	if qop != "" {
		return hexHash(h, ha1, nonce, nc, cnonce, qop, ha2)
	}
	return hexHash(h, ha1, nonce, ha2)
}

// authorization answers a challenge: the value of the Authorization or
// Proxy-Authorization header.
func (c digestChallenge) authorization(username, password, method, uri string) string {
	ha1 := HA1(c.algorithm, username, c.realm, password)
	var cnonce, nc string
	if c.qop != "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		cnonce, nc = hex.EncodeToString(b[:]), "00000001"
	}
	resp := digestResponse(c.algorithm, ha1, c.nonce, nc, cnonce, c.qop, method, uri)
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s`,
		quoteEscape(username), quoteEscape(c.realm), quoteEscape(c.nonce), quoteEscape(uri), resp, c.algorithm)
	if c.qop != "" {
		fmt.Fprintf(&b, `, qop=%s, nc=%s, cnonce="%s"`, c.qop, nc, cnonce)
	}
	if c.opaque != "" {
		fmt.Fprintf(&b, `, opaque="%s"`, quoteEscape(c.opaque))
	}
	return b.String()
}

func quoteEscape(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// digestCredentials is a parsed Authorization header.
type digestCredentials struct {
	username, realm, nonce, uri, response, algorithm, cnonce, nc, qop, opaque string
}

func parseCredentials(v string) (digestCredentials, error) {
	scheme, p, err := authParams(v)
	if err != nil {
		return digestCredentials{}, err
	}
	if !strings.EqualFold(scheme, "Digest") {
		return digestCredentials{}, errDigest
	}
	c := digestCredentials{
		username: p["username"], realm: p["realm"], nonce: p["nonce"], uri: p["uri"],
		response: strings.ToLower(p["response"]), algorithm: strings.ToUpper(p["algorithm"]),
		cnonce: p["cnonce"], nc: p["nc"], qop: p["qop"], opaque: p["opaque"],
	}
	if c.algorithm == "" {
		c.algorithm = "MD5"
	}
	if c.username == "" || c.nonce == "" || c.response == "" || c.uri == "" {
		return digestCredentials{}, errDigest
	}
	if _, ok := hashFor(c.algorithm); !ok {
		return digestCredentials{}, errDigest
	}
	if c.qop != "" && (c.qop != "auth" || c.cnonce == "" || c.nc == "") {
		return digestCredentials{}, errDigest
	}
	return c, nil
}
