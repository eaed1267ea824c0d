package sipstack

import (
	"bytes"
	"fmt"
)

// maxSDPSize bounds an SDP body; real offers are a few hundred bytes.
const maxSDPSize = 16 << 10

// ValidateSDP checks that body is a structurally valid SDP session
// description (RFC 8866 §5): lines of the form "<letter>=<value>", starting
// with "v=0", with o=, s= and t= lines, at least one m= line whose port is a
// number, and a connection address (c=) at session level or in every media
// section. It does not allocate; the switch and the media plane read the
// contents themselves.
func ValidateSDP(body []byte) error {
	if len(body) == 0 {
		return fmt.Errorf("empty body: %w", ErrBadSDP)
	}
	if len(body) > maxSDPSize {
		return fmt.Errorf("%d bytes: %w", len(body), ErrBadSDP)
	}
	var (
		line                      int
		haveO, haveS, haveT       bool
		sessionC, mediaC, inMedia bool
		media                     int
		rest                      = body
	)
	for len(rest) > 0 {
		var l []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			l, rest = rest[:i], rest[i+1:]
		} else {
			l, rest = rest, nil
		}
		l = bytes.TrimSuffix(l, []byte{'\r'})
		if len(l) == 0 {
			// Tolerate a trailing empty line; an empty line inside is an error.
			if len(bytes.TrimSpace(rest)) == 0 {
				break
			}
			return fmt.Errorf("line %d empty: %w", line+1, ErrBadSDP)
		}
		line++
		if len(l) < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z' {
			return fmt.Errorf("line %d not <type>=<value>: %w", line, ErrBadSDP)
		}
		for _, c := range l {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return fmt.Errorf("line %d has a control character: %w", line, ErrBadSDP)
			}
		}
		v := l[2:]
		if line == 1 {
			if l[0] != 'v' || string(v) != "0" {
				return fmt.Errorf("first line must be v=0: %w", ErrBadSDP)
			}
			continue
		}
		switch l[0] {
		case 'o':
			if fields(v) < 6 {
				return fmt.Errorf("o= needs 6 fields: %w", ErrBadSDP)
			}
			haveO = true
		case 's':
			haveS = true
		case 't':
			if fields(v) != 2 {
				return fmt.Errorf("t= needs 2 fields: %w", ErrBadSDP)
			}
			haveT = true
		case 'c':
			if fields(v) < 3 || !bytes.HasPrefix(v, []byte("IN ")) {
				return fmt.Errorf("c= must be IN <addrtype> <address>: %w", ErrBadSDP)
			}
			if inMedia {
				mediaC = true
			} else {
				sessionC = true
			}
		case 'm':
			if inMedia && !sessionC && !mediaC {
				return fmt.Errorf("media %d has no c= line: %w", media, ErrBadSDP)
			}
			if err := checkMediaLine(v); err != nil {
				return fmt.Errorf("media %d: %w", media+1, err)
			}
			inMedia, mediaC = true, false
			media++
		}
	}
	switch {
	case line == 0:
		return fmt.Errorf("no lines: %w", ErrBadSDP)
	case !haveO || !haveS || !haveT:
		return fmt.Errorf("missing o=, s= or t=: %w", ErrBadSDP)
	case media == 0:
		return fmt.Errorf("no m= line: %w", ErrBadSDP)
	case !sessionC && !mediaC:
		return fmt.Errorf("media %d has no c= line: %w", media, ErrBadSDP)
	}
	return nil
}

// checkMediaLine checks "m=<media> <port>[/<n>] <proto> <fmt> ...".
func checkMediaLine(v []byte) error {
	if fields(v) < 4 {
		return fmt.Errorf("m= needs media, port, proto and a format: %w", ErrBadSDP)
	}
	_, rest, _ := bytes.Cut(v, []byte{' '})
	port, _, _ := bytes.Cut(rest, []byte{' '})
	port, _, _ = bytes.Cut(port, []byte{'/'})
	if len(port) == 0 || len(port) > 5 {
		return fmt.Errorf("bad port: %w", ErrBadSDP)
	}
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return fmt.Errorf("bad port: %w", ErrBadSDP)
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return fmt.Errorf("port %d out of range: %w", n, ErrBadSDP)
	}
	return nil
}

// fields counts space-separated fields.
func fields(v []byte) int {
	n, in := 0, false
	for _, c := range v {
		if c == ' ' {
			in = false
			continue
		}
		if !in {
			n++
			in = true
		}
	}
	return n
}
