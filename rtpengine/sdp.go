package rtpengine

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds on untrusted SDP (a SIP body is rarely over a few KiB).
const (
	maxSDPSize  = 64 << 10
	maxSDPLines = 2048
	maxMedia    = 32
)

// SessionDescription is what the call path needs from an SDP body
// (RFC 4566): the first audio stream, which the engine relays, and a
// summary of every media line.
type SessionDescription struct {
	OriginUsername string
	OriginSession  string
	OriginVersion  string
	// Connection is the session-level c= address (invalid if absent).
	Connection netip.Addr
	// Audio is the first audio stream with a non-zero port.
	Audio AudioStream
	Media []MediaLine
}

// MediaLine summarises one m= line.
type MediaLine struct {
	Type    string // audio, video, ...
	Port    int
	Proto   string
	Formats []string
}

// AudioStream describes the relayed stream.
type AudioStream struct {
	// Index is the position of its m= line among the media lines.
	Index int
	// Addr is its connection address (media-level c=, else session-level).
	// The unspecified address (0.0.0.0) means hold (RFC 3264 §8.4).
	Addr netip.Addr
	Port uint16
	// RTCP is from a=rtcp (RFC 3605) or, without it, port+1 (RFC 3550 §11).
	RTCP      netip.AddrPort
	RTCPMux   bool
	Direction Direction
	Proto     string
	// PayloadTypes are the formats of the m= line, in order.
	PayloadTypes []uint8
	// ClockRate is the rtpmap clock rate of the first payload type (8000
	// for the static G.711 types and when unknown).
	ClockRate uint32
}

// RTP returns the stream's RTP address.
func (a AudioStream) RTP() netip.AddrPort { return netip.AddrPortFrom(a.Addr, a.Port) }

// Hold reports whether the stream is on hold: c=0.0.0.0 or a direction
// other than sendrecv.
func (a AudioStream) Hold() bool { return a.Addr.IsUnspecified() || a.Direction != SendRecv }

type sdpLine struct {
	typ byte
	val string // a substring of the body: the lines share one copy
}

// stackLines is how many lines the parsers split into an array on their
// own stack; a plain SIP offer or answer has a dozen or two.
const stackLines = 32

// splitSDP checks the grammar every line shares ("x=value", RFC 4566 §5)
// and splits the body, appending to lines (grown once if too small). CRLF
// and bare LF are both accepted (§5 asks parsers to be lenient on that).
func splitSDP(b []byte, lines []sdpLine) ([]sdpLine, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrSDP)
	}
	if len(b) > maxSDPSize {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrSDP, len(b), maxSDPSize)
	}
	// One copy of the body, which the lines' values (and what the caller
	// keeps of them) slice.
	s := string(b)
	if n := min(strings.Count(s, "\n")+1, maxSDPLines); n > cap(lines)-len(lines) {
		lines = append(make([]sdpLine, 0, len(lines)+n), lines...)
	}
	for n := 1; len(s) > 0; n++ {
		var raw string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			raw, s = s[:i], s[i+1:]
		} else {
			raw, s = s, ""
		}
		raw = strings.TrimSuffix(raw, "\r")
		if len(raw) == 0 {
			if len(s) == 0 {
				break
			}
			return nil, fmt.Errorf("%w: line %d: empty line", ErrSDP, n)
		}
		if len(lines) >= maxSDPLines {
			return nil, fmt.Errorf("%w: more than %d lines", ErrSDP, maxSDPLines)
		}
		if len(raw) < 2 || raw[1] != '=' || raw[0] < 'a' || raw[0] > 'z' {
			return nil, fmt.Errorf("%w: line %d: not of the form x=value", ErrSDP, n)
		}
		for i := 2; i < len(raw); i++ {
			if c := raw[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return nil, fmt.Errorf("%w: line %d: control character", ErrSDP, n)
			}
		}
		lines = append(lines, sdpLine{typ: raw[0], val: raw[2:]})
	}
	if len(lines) == 0 || lines[0].typ != 'v' || lines[0].val != "0" {
		return nil, fmt.Errorf("%w: must start with v=0", ErrSDP)
	}
	return lines, nil
}

// splitFields splits s around runs of white space exactly as strings.Fields
// does, but into f rather than a new slice: it stores the first len(f)
// fields and returns how many there are in all. The fields are substrings
// of s, so an array on the caller's stack can hold them.
func splitFields(s string, f []string) int {
	n, start := 0, -1
	for i, r := range s {
		switch {
		case !isSpace(r):
			if start < 0 {
				start = i
			}
		case start >= 0:
			if n < len(f) {
				f[n] = s[start:i]
			}
			n++
			start = -1
		}
	}
	if start >= 0 {
		if n < len(f) {
			f[n] = s[start:]
		}
		n++
	}
	return n
}

// isSpace is unicode.IsSpace with the ASCII case (all but always) inline.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// parseConnection parses "IN IP4 addr[/ttl]" (RFC 4566 §5.7). Only IP
// literals are accepted: the relay must know where to send.
func parseConnection(v string) (netip.Addr, error) {
	var f [3]string
	if splitFields(v, f[:]) != 3 {
		return netip.Addr{}, fmt.Errorf("%w: c=%q: want IN IP4|IP6 address", ErrSDP, v)
	}
	return connectionAddr(v, f)
}

// connectionAddr checks the three fields of a connection address (see
// parseConnection). v is the text they came from, for errors; empty means
// the fields joined by single spaces (a=rtcp, RFC 3605).
func connectionAddr(v string, f [3]string) (netip.Addr, error) {
	text := func() string {
		if v == "" {
			return f[0] + " " + f[1] + " " + f[2]
		}
		return v
	}
	if f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: c=%q: want IN IP4|IP6 address", ErrSDP, text())
	}
	a := f[2]
	if i := strings.IndexByte(a, '/'); i >= 0 {
		a = a[:i]
	}
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: c=%q: %v", ErrSDP, text(), err)
	}
	if ip.Zone() != "" || (f[1] == "IP4") != ip.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: c=%q: address does not match %s", ErrSDP, text(), f[1])
	}
	return ip, nil
}

func parseMediaLine(v string) (MediaLine, error) {
	var f [8]string
	n := splitFields(v, f[:])
	if n < 4 {
		return MediaLine{}, fmt.Errorf("%w: m=%q: want media port proto fmt...", ErrSDP, v)
	}
	port := f[1]
	if i := strings.IndexByte(port, '/'); i >= 0 {
		if _, err := strconv.ParseUint(port[i+1:], 10, 8); err != nil {
			return MediaLine{}, fmt.Errorf("%w: m=%q: bad port count", ErrSDP, v)
		}
		port = port[:i]
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return MediaLine{}, fmt.Errorf("%w: m=%q: bad port", ErrSDP, v)
	}
	// The formats outlive the parse: one slice, sized once.
	var formats []string
	if n <= len(f) {
		formats = make([]string, n-3)
		copy(formats, f[3:n])
	} else {
		all := make([]string, n)
		splitFields(v, all)
		formats = all[3:]
	}
	return MediaLine{Type: f[0], Port: int(p), Proto: f[2], Formats: formats}, nil
}

// ParseSDP validates an SDP body and describes its audio stream. A body
// without an audio stream (or whose audio is all declined) returns
// ErrNoAudio; anything malformed returns an error wrapping ErrSDP (the SIP
// layer answers 488 or 400).
func ParseSDP(body []byte) (*SessionDescription, error) {
	d := &SessionDescription{}
	var buf [stackLines]sdpLine
	if _, err := parseSDP(body, d, buf[:0]); err != nil {
		return nil, err
	}
	return d, nil
}

// parseSDP is ParseSDP into d. It also returns the body's lines (appended
// to lines) so that RewriteSDP does not split the body again.
func parseSDP(body []byte, d *SessionDescription, lines []sdpLine) ([]sdpLine, error) {
	lines, err := splitSDP(body, lines)
	if err != nil {
		return nil, err
	}
	nm := 0
	for _, ln := range lines {
		if ln.typ == 'm' {
			nm++
		}
	}
	if nm > 0 {
		d.Media = make([]MediaLine, 0, min(nm, maxMedia))
	}
	sessDir := SendRecv
	var seenO, seenS bool
	audio := -1
	var mediaConn netip.Addr
	var rtcpAttr string
	mediaDir := Direction(255)
	// clockRate is from the audio section's rtpmap of its first payload
	// type (0: none); the other payload types' rates are not used.
	var clockRate uint32
	cur := -1
	finishAudio := func() error {
		if cur != audio || audio < 0 {
			return nil
		}
		a := &d.Audio
		if mediaConn.IsValid() {
			a.Addr = mediaConn
		} else if d.Connection.IsValid() {
			a.Addr = d.Connection
		} else {
			return fmt.Errorf("%w: audio stream has no c= line", ErrSDP)
		}
		a.Direction = sessDir
		if mediaDir != 255 {
			a.Direction = mediaDir
		}
		rtcpPort := uint32(a.Port) + 1
		rtcpIP := a.Addr
		if rtcpAttr != "" {
			var f [4]string
			n := splitFields(rtcpAttr, f[:])
			p, err := strconv.ParseUint(f[0], 10, 16)
			if err != nil || p == 0 {
				return fmt.Errorf("%w: a=rtcp:%q: bad port", ErrSDP, rtcpAttr)
			}
			rtcpPort = uint32(p)
			if n >= 4 {
				ip, err := connectionAddr("", [3]string(f[1:4]))
				if err != nil {
					return err
				}
				rtcpIP = ip
			} else if n != 1 {
				return fmt.Errorf("%w: a=rtcp:%q: want port [IN IP4|IP6 address]", ErrSDP, rtcpAttr)
			}
		}
		if rtcpPort > 65535 {
			rtcpPort = 65535
		}
		a.RTCP = netip.AddrPortFrom(rtcpIP, uint16(rtcpPort))
		a.ClockRate = 8000
		if clockRate != 0 {
			a.ClockRate = clockRate
		}
		return nil
	}
	for _, ln := range lines {
		switch ln.typ {
		case 'o':
			var f [6]string
			if splitFields(ln.val, f[:]) != 6 {
				return nil, fmt.Errorf("%w: o= needs 6 fields", ErrSDP)
			}
			d.OriginUsername, d.OriginSession, d.OriginVersion = f[0], f[1], f[2]
			seenO = true
		case 's':
			seenS = true
		case 'c':
			ip, err := parseConnection(ln.val)
			if err != nil {
				return nil, err
			}
			if cur < 0 {
				d.Connection = ip
			} else if cur == audio {
				mediaConn = ip
			}
		case 'm':
			if err := finishAudio(); err != nil {
				return nil, err
			}
			if len(d.Media) >= maxMedia {
				return nil, fmt.Errorf("%w: more than %d media lines", ErrSDP, maxMedia)
			}
			m, err := parseMediaLine(ln.val)
			if err != nil {
				return nil, err
			}
			d.Media = append(d.Media, m)
			cur = len(d.Media) - 1
			if audio < 0 && m.Type == "audio" && m.Port != 0 {
				if !strings.Contains(m.Proto, "RTP") {
					return nil, fmt.Errorf("%w: m=%q: audio transport %q is not RTP", ErrSDP, ln.val, m.Proto)
				}
				audio = cur
				d.Audio.Index = cur
				d.Audio.Port = uint16(m.Port)
				d.Audio.Proto = m.Proto
				d.Audio.PayloadTypes = make([]uint8, 0, len(m.Formats))
				for _, fm := range m.Formats {
					pt, err := strconv.ParseUint(fm, 10, 7)
					if err != nil {
						return nil, fmt.Errorf("%w: m=%q: payload type %q", ErrSDP, ln.val, fm)
					}
					d.Audio.PayloadTypes = append(d.Audio.PayloadTypes, uint8(pt))
				}
			}
		case 'a':
			name, val, _ := strings.Cut(ln.val, ":")
			if dir, ok := direction(name); ok && val == "" {
				if cur < 0 {
					sessDir = dir
				} else if cur == audio {
					mediaDir = dir
				}
				continue
			}
			if cur != audio || audio < 0 {
				continue
			}
			switch name {
			case "rtcp":
				if val == "" {
					return nil, fmt.Errorf("%w: a=rtcp without a port", ErrSDP)
				}
				rtcpAttr = val
			case "rtcp-mux":
				d.Audio.RTCPMux = true
			case "rtpmap":
				// "pt encoding/rate[/params]" (RFC 4566 §6); every rtpmap of
				// the audio section is checked.
				pt, enc, ok := strings.Cut(val, " ")
				if !ok {
					return nil, fmt.Errorf("%w: a=rtpmap:%q", ErrSDP, val)
				}
				_, rate, ok := strings.Cut(enc, "/")
				if !ok {
					return nil, fmt.Errorf("%w: a=rtpmap:%q: no clock rate", ErrSDP, val)
				}
				rate, _, _ = strings.Cut(rate, "/")
				r, err := strconv.ParseUint(rate, 10, 32)
				if err != nil || r == 0 {
					return nil, fmt.Errorf("%w: a=rtpmap:%q: bad clock rate", ErrSDP, val)
				}
				// The rtpmap lines follow the m= line, so the payload
				// types are known. The first one is matched as text with
				// its decimal form ("08" is not 8); the last rtpmap for it
				// wins.
				if pts := d.Audio.PayloadTypes; len(pts) > 0 {
					var b [3]byte
					if string(strconv.AppendUint(b[:0], uint64(pts[0]), 10)) == pt {
						clockRate = uint32(r)
					}
				}
			}
		}
	}
	if err := finishAudio(); err != nil {
		return nil, err
	}
	if !seenO || !seenS {
		return nil, fmt.Errorf("%w: o= and s= lines are required", ErrSDP)
	}
	if audio < 0 {
		return nil, ErrNoAudio
	}
	return lines, nil
}

// Origin is the o= line tandem presents on one leg (RFC 4566 §5.2): its
// own session id, and a version that rises whenever the body it describes
// changes (RFC 3264 §8). The zero value is ready to use.
type Origin struct {
	Username  string
	SessionID uint64
	Version   uint64
	last      uint64
}

var originSeq atomic.Uint64

// appendIPLine appends "IN IP4 a" / "IN IP6 a".
func appendIPLine(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		b = append(b, "IN IP4 "...)
	} else {
		b = append(b, "IN IP6 "...)
	}
	if !a.IsValid() {
		// AppendTo writes nothing for the zero Addr; String spells it.
		return append(b, a.String()...)
	}
	return a.AppendTo(b)
}

// addressAttrs are attributes that carry the far side's addresses (ICE,
// RFC 8839) and would leak them or make peers bypass the relay.
func addressAttr(name string) bool {
	switch name {
	case "candidate", "remote-candidates", "end-of-candidates", "ice-ufrag", "ice-pwd",
		"ice-options", "ice-lite", "ice-mismatch", "ice-pacing", "rtcp":
		return true
	}
	return false
}

// rewriteSlack is room in RewriteSDP's output beyond the body's length: our
// v=/o= lines (written last) and an a=rtcp line, so that the result is
// usually one allocation.
const rewriteSlack = 256

// RewriteSDP rewrites body so that its audio stream points at local: the
// c= lines carry local.IP, the audio m= port is local.Port and a=rtcp names
// local.RTCPPort (RFC 3605). ICE attributes and candidates are removed so
// the far side's addresses do not leak. Codecs and other attributes stay as
// they are. Media lines other than the first audio stream are declined
// (port 0, RFC 3264 §6): the engine relays one audio stream per leg. The o=
// line is origin's; its version rises when the result differs from the
// previous one. Malformed SDP returns an error wrapping ErrSDP.
func RewriteSDP(body []byte, local Endpoint, origin *Origin) ([]byte, error) {
	var d SessionDescription
	var buf [stackLines]sdpLine
	lines, err := parseSDP(body, &d, buf[:0])
	if err != nil {
		return nil, err
	}
	sessionConn := d.Connection.IsValid()
	// Everything after the o= line is written first: the o= version
	// depends on it. The v= and o= lines are inserted in front at the end.
	out := make([]byte, 0, len(body)+rewriteSlack)
	appendConn := func() {
		out = append(out, "c="...)
		out = appendIPLine(out, local.IP)
		out = append(out, "\r\n"...)
	}
	cur := -1
	connDone, rtcpDone := true, true
	// Within a media section RFC 4566 §5 orders m=, i=, c=, b=, k=, a=:
	// our c= goes before the first line after i=, our a=rtcp before the
	// first a= (or at the end of the section).
	finishSection := func(next byte) {
		if !connDone && next != 'i' {
			appendConn()
			connDone = true
		}
		if !rtcpDone && (next == 'a' || next == 'm' || next == 0) {
			out = append(out, "a=rtcp:"...)
			out = strconv.AppendUint(out, uint64(local.RTCPPort), 10)
			out = append(out, ' ')
			out = appendIPLine(out, local.IP)
			out = append(out, "\r\n"...)
			rtcpDone = true
		}
	}
	for _, ln := range lines {
		if cur >= 0 {
			finishSection(ln.typ)
		}
		switch ln.typ {
		case 'v', 'o':
			continue // written below
		case 'c':
			if cur < 0 {
				appendConn()
			}
			continue
		case 'm':
			cur++
			m := d.Media[cur]
			port := uint16(0)
			if cur == d.Audio.Index {
				port = local.Port
			}
			out = append(out, "m="...)
			out = append(out, m.Type...)
			out = append(out, ' ')
			out = strconv.AppendUint(out, uint64(port), 10)
			out = append(out, ' ')
			out = append(out, m.Proto...)
			for _, f := range m.Formats {
				out = append(out, ' ')
				out = append(out, f...)
			}
			out = append(out, "\r\n"...)
			// Every section gets a c= of ours when there is no session-level
			// one (a media c= of the far side must not survive).
			connDone = sessionConn
			rtcpDone = cur != d.Audio.Index || local.RTCPPort == 0
			continue
		case 'a':
			name, _, _ := strings.Cut(ln.val, ":")
			if addressAttr(name) {
				continue
			}
		}
		out = append(out, ln.typ, '=')
		out = append(out, ln.val...)
		out = append(out, "\r\n"...)
	}
	if cur >= 0 {
		finishSection(0)
	}
	h := fnv.New64a()
	h.Write(out)
	sum := h.Sum64()
	if origin.SessionID == 0 {
		origin.SessionID = uint64(time.Now().Unix())<<20 | originSeq.Add(1)&0xfffff
		origin.Version = 1
		origin.last = sum
	} else if sum != origin.last {
		origin.Version++
		origin.last = sum
	}
	user := origin.Username
	if user == "" {
		user = "tandem"
	}
	var hdr [128]byte
	head := append(hdr[:0], "v=0\r\no="...)
	head = append(head, user...)
	head = append(head, ' ')
	head = strconv.AppendUint(head, origin.SessionID, 10)
	head = append(head, ' ')
	head = strconv.AppendUint(head, origin.Version, 10)
	head = append(head, ' ')
	head = appendIPLine(head, local.IP)
	head = append(head, "\r\n"...)
	return slices.Insert(out, 0, head...), nil
}
