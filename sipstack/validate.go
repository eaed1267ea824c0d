package sipstack

import (
	"bytes"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// datagramVerdict is what the pre-parse screen decided about a datagram.
type datagramVerdict uint8

const (
	datagramOK        datagramVerdict = iota // pass to sipgo
	datagramTruncated                        // Content-Length larger than the body: answer 400
	datagramBadLength                        // Content-Length unreadable or repeated: answer 400
)

// screenDatagram checks the Content-Length of a UDP datagram against its
// body before sipgo parses it. sipgo silently drops a datagram whose body is
// shorter than Content-Length, so the sender would retransmit into a void;
// RFC 3261 §18.3 says to answer 400. A body longer than Content-Length is
// legal over UDP (the excess is discarded, §18.3) and passes. It does not
// allocate.
func screenDatagram(data []byte) datagramVerdict {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return datagramOK // sipgo will reject it as unparsable
	}
	head, body := data[:end+2], data[end+4:]
	// Skip the start line.
	i := bytes.Index(head, []byte("\r\n"))
	if i < 0 {
		return datagramOK
	}
	head = head[i+2:]
	cl, seen := -1, false
	for len(head) > 0 {
		j := bytes.Index(head, []byte("\r\n"))
		if j < 0 {
			break
		}
		line := head[:j]
		head = head[j+2:]
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !(asciiEqualFold(name, "content-length") || asciiEqualFold(name, "l")) {
			continue
		}
		if seen {
			return datagramBadLength
		}
		seen = true
		v := bytes.TrimSpace(line[colon+1:])
		if len(v) == 0 || len(v) > 7 {
			return datagramBadLength
		}
		n := 0
		for _, c := range v {
			if c < '0' || c > '9' {
				return datagramBadLength
			}
			n = n*10 + int(c-'0')
		}
		cl = n
	}
	if cl > len(body) {
		return datagramTruncated
	}
	return datagramOK
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// supportedExtensions are the option tags tandem implements (RFC 3261
// §8.2.2.3: a Require naming anything else gets 420). None yet: no 100rel
// (PRACK), no session timers, no Replaces.
var supportedExtensions []string

// unsupportedRequire returns the option tags of Require that we lack.
func unsupportedRequire(req *sip.Request) []string {
	var bad []string
	for _, h := range req.Headers() {
		if !strings.EqualFold(h.Name(), "Require") {
			continue
		}
		for _, tag := range strings.Split(h.Value(), ",") {
			tag = strings.TrimSpace(tag)
			if tag == "" {
				continue
			}
			ok := false
			for _, s := range supportedExtensions {
				if strings.EqualFold(s, tag) {
					ok = true
					break
				}
			}
			if !ok {
				bad = append(bad, tag)
			}
		}
	}
	return bad
}

// isSDP reports whether the Content-Type is application/sdp (parameters and
// case ignored).
func isSDP(req interface{ ContentType() *sip.ContentTypeHeader }) bool {
	ct := req.ContentType()
	if ct == nil {
		return false
	}
	v := string(*ct)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), "application/sdp")
}

// checkOffer validates the SDP offer of an INVITE. It returns the status and
// refusal reason, or 0 when the offer is usable.
func checkOffer(req *sip.Request) (int, Reason) {
	body := req.Body()
	if len(body) == 0 {
		// tandem needs the offer in the INVITE (no late offer) to give the
		// caller a media address before the switch runs.
		return 488, ReasonBadSDP
	}
	if !isSDP(req) {
		return 415, ReasonUnsupportedMedia
	}
	if err := ValidateSDP(body); err != nil {
		return 488, ReasonBadSDP
	}
	return 0, 0
}

// checkRequest runs the header checks that every request gets before any
// routing: loop (482), Max-Forwards (483) and Require (420). ours reports
// whether a Via sent-by is one of our own addresses.
func checkRequest(req *sip.Request, ours func(host string, port int) bool) (int, Reason) {
	if req.IsAck() {
		return 0, 0
	}
	// RFC 3261 §8.2.2.2 / §16.3: a request that already passed through us
	// is looping; it carries our Via.
	for _, h := range req.Headers() {
		if v, ok := h.(*sip.ViaHeader); ok && ours(v.Host, v.Port) {
			return 482, ReasonLoop
		}
	}
	// RFC 3261 §16.3 item 3: Max-Forwards 0 must not be forwarded, and the
	// switch forwards calls. OPTIONS may be answered by the final recipient.
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 && req.Method != sip.OPTIONS {
		return 483, ReasonTooManyHops
	}
	if !req.IsCancel() {
		if bad := unsupportedRequire(req); len(bad) > 0 {
			return 420, ReasonBadExtension
		}
	}
	return 0, 0
}
