package rtpengine

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
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
	val string
}

// splitSDP checks the grammar every line shares ("x=value", RFC 4566 §5)
// and splits the body. CRLF and bare LF are both accepted (§5 asks parsers
// to be lenient on that).
func splitSDP(b []byte) ([]sdpLine, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrSDP)
	}
	if len(b) > maxSDPSize {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrSDP, len(b), maxSDPSize)
	}
	var lines []sdpLine
	for n := 1; len(b) > 0; n++ {
		var raw []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			raw, b = b[:i], b[i+1:]
		} else {
			raw, b = b, nil
		}
		raw = bytes.TrimSuffix(raw, []byte{'\r'})
		if len(raw) == 0 {
			if len(b) == 0 {
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
		for _, c := range raw[2:] {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return nil, fmt.Errorf("%w: line %d: control character", ErrSDP, n)
			}
		}
		lines = append(lines, sdpLine{typ: raw[0], val: string(raw[2:])})
	}
	if len(lines) == 0 || lines[0].typ != 'v' || lines[0].val != "0" {
		return nil, fmt.Errorf("%w: must start with v=0", ErrSDP)
	}
	return lines, nil
}

// parseConnection parses "IN IP4 addr[/ttl]" (RFC 4566 §5.7). Only IP
// literals are accepted: the relay must know where to send.
func parseConnection(v string) (netip.Addr, error) {
	f := strings.Fields(v)
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: c=%q: want IN IP4|IP6 address", ErrSDP, v)
	}
	a := f[2]
	if i := strings.IndexByte(a, '/'); i >= 0 {
		a = a[:i]
	}
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: c=%q: %v", ErrSDP, v, err)
	}
	if ip.Zone() != "" || (f[1] == "IP4") != ip.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: c=%q: address does not match %s", ErrSDP, v, f[1])
	}
	return ip, nil
}

func parseMediaLine(v string) (MediaLine, error) {
	f := strings.Fields(v)
	if len(f) < 4 {
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
	return MediaLine{Type: f[0], Port: int(p), Proto: f[2], Formats: f[3:]}, nil
}

// ParseSDP validates an SDP body and describes its audio stream. A body
// without an audio stream (or whose audio is all declined) returns
// ErrNoAudio; anything malformed returns an error wrapping ErrSDP (the SIP
// layer answers 488 or 400).
func ParseSDP(body []byte) (*SessionDescription, error) {
	lines, err := splitSDP(body)
	if err != nil {
		return nil, err
	}
	d := &SessionDescription{}
	sessDir := SendRecv
	var seenO, seenS bool
	audio := -1
	var mediaConn netip.Addr
	var rtcpAttr string
	mediaDir := Direction(255)
	rtpmap := map[string]uint32{}
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
			f := strings.Fields(rtcpAttr)
			p, err := strconv.ParseUint(f[0], 10, 16)
			if err != nil || p == 0 {
				return fmt.Errorf("%w: a=rtcp:%q: bad port", ErrSDP, rtcpAttr)
			}
			rtcpPort = uint32(p)
			if len(f) >= 4 {
				ip, err := parseConnection(strings.Join(f[1:4], " "))
				if err != nil {
					return err
				}
				rtcpIP = ip
			} else if len(f) != 1 {
				return fmt.Errorf("%w: a=rtcp:%q: want port [IN IP4|IP6 address]", ErrSDP, rtcpAttr)
			}
		}
		if rtcpPort > 65535 {
			rtcpPort = 65535
		}
		a.RTCP = netip.AddrPortFrom(rtcpIP, uint16(rtcpPort))
		a.ClockRate = 8000
		if len(a.PayloadTypes) > 0 {
			if r, ok := rtpmap[strconv.Itoa(int(a.PayloadTypes[0]))]; ok {
				a.ClockRate = r
			}
		}
		return nil
	}
	for _, ln := range lines {
		switch ln.typ {
		case 'o':
			f := strings.Fields(ln.val)
			if len(f) != 6 {
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
			if dir, err := ParseDirection(name); err == nil && val == "" {
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
				pt, enc, ok := strings.Cut(val, " ")
				if !ok {
					return nil, fmt.Errorf("%w: a=rtpmap:%q", ErrSDP, val)
				}
				parts := strings.Split(enc, "/")
				if len(parts) < 2 {
					return nil, fmt.Errorf("%w: a=rtpmap:%q: no clock rate", ErrSDP, val)
				}
				r, err := strconv.ParseUint(parts[1], 10, 32)
				if err != nil || r == 0 {
					return nil, fmt.Errorf("%w: a=rtpmap:%q: bad clock rate", ErrSDP, val)
				}
				rtpmap[pt] = uint32(r)
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
	return d, nil
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

// ipLine renders "IN IP4 a" / "IN IP6 a".
func ipLine(a netip.Addr) string {
	if a.Is4() {
		return "IN IP4 " + a.String()
	}
	return "IN IP6 " + a.String()
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

// RewriteSDP rewrites body so that its audio stream points at local: the
// c= lines carry local.IP, the audio m= port is local.Port and a=rtcp names
// local.RTCPPort (RFC 3605). ICE attributes and candidates are removed so
// the far side's addresses do not leak. Codecs and other attributes stay as
// they are. Media lines other than the first audio stream are declined
// (port 0, RFC 3264 §6): the engine relays one audio stream per leg. The o=
// line is origin's; its version rises when the result differs from the
// previous one. Malformed SDP returns an error wrapping ErrSDP.
func RewriteSDP(body []byte, local Endpoint, origin *Origin) ([]byte, error) {
	d, err := ParseSDP(body)
	if err != nil {
		return nil, err
	}
	lines, _ := splitSDP(body)
	conn := "c=" + ipLine(local.IP) + "\r\n"
	sessionConn := d.Connection.IsValid()
	var out, rest bytes.Buffer
	cur := -1
	connDone, rtcpDone := true, true
	// Within a media section RFC 4566 §5 orders m=, i=, c=, b=, k=, a=:
	// our c= goes before the first line after i=, our a=rtcp before the
	// first a= (or at the end of the section).
	finishSection := func(next byte) {
		if !connDone && next != 'i' {
			rest.WriteString(conn)
			connDone = true
		}
		if !rtcpDone && (next == 'a' || next == 'm' || next == 0) {
			fmt.Fprintf(&rest, "a=rtcp:%d %s\r\n", local.RTCPPort, ipLine(local.IP))
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
				rest.WriteString(conn)
			}
			continue
		case 'm':
			cur++
			m := d.Media[cur]
			port := 0
			if cur == d.Audio.Index {
				port = int(local.Port)
			}
			fmt.Fprintf(&rest, "m=%s %d %s %s\r\n", m.Type, port, m.Proto, strings.Join(m.Formats, " "))
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
		rest.WriteString(string(ln.typ) + "=" + ln.val + "\r\n")
	}
	if cur >= 0 {
		finishSection(0)
	}
	h := fnv.New64a()
	h.Write(rest.Bytes())
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
	out.WriteString("v=0\r\n")
	fmt.Fprintf(&out, "o=%s %d %d %s\r\n", user, origin.SessionID, origin.Version, ipLine(local.IP))
	out.Write(rest.Bytes())
	return out.Bytes(), nil
}
