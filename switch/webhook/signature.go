package webhook

import (
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what X-Twilio-Signature is (twilio-voice.md §4.1)
	"crypto/subtle"
	"encoding/base64"
	"slices"
	"strings"
	"sync"
)

// Param is one request parameter. Requests carry an ordered list so that
// repeated names (StatusCallbackEvent) and the caller's order survive.
type Param struct {
	Name  string
	Value string
}

// sigBuf is the scratch space of one signature: the HMAC inner message and a
// sorted copy of the parameters. Pooled so signing allocates nothing.
type sigBuf struct {
	msg    []byte
	params []Param
}

var sigBufPool = sync.Pool{New: func() any { return &sigBuf{msg: make([]byte, 0, 1024)} }}

// Signature computes X-Twilio-Signature (twilio-voice.md §4.1) for a request
// to url with the form parameters params (POST). For a GET the parameters
// are in url's query string: pass nil params. The #fragment and any
// user:pass@ credentials in url are left out of the signed string, as Twilio
// does. Parameters are sorted by name, byte-wise; a repeated name
// contributes each distinct value in sorted order (twilio-python's
// sorted(set(values)), twilio-node's sorted de-duplicated array).
func Signature(authToken, url string, params []Param) string {
	var out [28]byte
	return string(AppendSignature(out[:0], authToken, url, params))
}

// AppendSignature appends the base64 signature to dst; see Signature.
func AppendSignature(dst []byte, authToken, url string, params []Param) []byte {
	sb := sigBufPool.Get().(*sigBuf)
	sb.msg = appendSignedURL(sb.msg[:0], url)
	dst = sb.appendMAC(dst, authToken, params)
	putSigBuf(sb)
	return dst
}

// appendSignatureBytes signs an already redacted URL (the client builds it
// while building the request line).
func appendSignatureBytes(dst []byte, authToken string, signedURL []byte, params []Param) []byte {
	sb := sigBufPool.Get().(*sigBuf)
	sb.msg = append(sb.msg[:0], signedURL...)
	dst = sb.appendMAC(dst, authToken, params)
	putSigBuf(sb)
	return dst
}

func putSigBuf(sb *sigBuf) {
	if cap(sb.msg) > 64<<10 {
		return // let an oversized buffer go rather than pin it
	}
	sigBufPool.Put(sb)
}

// appendSignedURL appends u without fragment and credentials.
func appendSignedURL(dst []byte, u string) []byte {
	u, _, _ = strings.Cut(u, "#")
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		end := strings.IndexAny(rest, "/?")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			dst = append(dst, scheme...)
			dst = append(dst, "://"...)
			return append(dst, rest[at+1:]...)
		}
	}
	return append(dst, u...)
}

// appendMAC signs sb.msg (the URL, already in place) plus the sorted
// parameters with HMAC-SHA1 (RFC 2104) keyed by authToken, and appends the
// base64 result. HMAC is spelled out over sha1.Sum so that no hash state is
// allocated per request.
func (sb *sigBuf) appendMAC(dst []byte, authToken string, params []Param) []byte {
	const blockSize = 64
	var key [blockSize]byte
	if len(authToken) > blockSize {
		k := sha1.Sum([]byte(authToken)) //nolint:gosec // RFC 2104 key hashing
		copy(key[:], k[:])
	} else {
		copy(key[:], authToken)
	}

	if len(params) > 0 {
		sb.params = append(sb.params[:0], params...)
		slices.SortFunc(sb.params, func(a, b Param) int {
			if c := strings.Compare(a.Name, b.Name); c != 0 {
				return c
			}
			return strings.Compare(a.Value, b.Value)
		})
		for i, p := range sb.params {
			if i > 0 && p == sb.params[i-1] {
				continue
			}
			sb.msg = append(sb.msg, p.Name...)
			sb.msg = append(sb.msg, p.Value...)
		}
		clear(sb.params) // do not keep the caller's strings alive in the pool
	}

	// inner = H((K ^ ipad) || message): prepend the padded key in place.
	sb.msg = append(sb.msg, key[:]...) // grow by one block
	copy(sb.msg[blockSize:], sb.msg[:len(sb.msg)-blockSize])
	for i := range blockSize {
		sb.msg[i] = key[i] ^ 0x36
	}
	inner := sha1.Sum(sb.msg) //nolint:gosec // HMAC-SHA1

	// outer = H((K ^ opad) || inner)
	var outer [blockSize + sha1.Size]byte
	for i := range blockSize {
		outer[i] = key[i] ^ 0x5c
	}
	copy(outer[blockSize:], inner[:])
	mac := sha1.Sum(outer[:]) //nolint:gosec // HMAC-SHA1
	return base64.StdEncoding.AppendEncode(dst, mac[:])
}

// ValidSignature reports whether signature is X-Twilio-Signature for url and
// params, comparing in constant time (twilio-voice.md §4.1 step 5). url is
// taken as requested; unlike the SDK validators it does not also try the URL
// with the default port added or removed.
func ValidSignature(authToken, url string, params []Param, signature string) bool {
	var out [28]byte
	got := AppendSignature(out[:0], authToken, url, params)
	return subtle.ConstantTimeCompare(got, []byte(signature)) == 1
}
