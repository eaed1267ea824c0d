// Package ng speaks Sipwise rtpengine's ng control protocol (bencoded
// dictionaries over UDP, each datagram "cookie <dict>") for the subset that
// Kamailio's and OpenSIPS' rtpengine modules use: ping, offer, answer,
// delete, query and list. It lets tandem's media engine stand in for
// rtpengine behind a SIP proxy.
package ng

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Bounds on untrusted input.
const (
	maxDepth    = 16
	maxItems    = 4096
	maxMsgBytes = 65535
)

// ErrBencode is wrapped by every decoding error.
var ErrBencode = errors.New("ng: malformed bencode")

// A value is one of: []byte (string), int64, []any (list), Dict.
// Dict keeps keys as strings.
type Dict map[string]any

// Str returns the string under key ("" if absent or not a string).
func (d Dict) Str(key string) string {
	if b, ok := d[key].([]byte); ok {
		return string(b)
	}
	return ""
}

// List returns the strings of the list under key (non-strings skipped).
// A single string is returned as a one-element list: Kamailio sends some
// options either way.
func (d Dict) List(key string) []string {
	switch v := d[key].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if b, ok := x.([]byte); ok {
				out = append(out, string(b))
			}
		}
		return out
	case []byte:
		return []string{string(v)}
	}
	return nil
}

// Decode parses one bencoded value that must span all of b.
func Decode(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.i != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBencode, len(b)-d.i)
	}
	return v, nil
}

type decoder struct {
	b     []byte
	i     int
	items int
}

func (d *decoder) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrBencode, what, d.i)
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.fail("nesting too deep")
	}
	d.items++
	if d.items > maxItems {
		return nil, d.fail("too many items")
	}
	if d.i >= len(d.b) {
		return nil, d.fail("unexpected end")
	}
	switch c := d.b[d.i]; {
	case c == 'i':
		d.i++
		end := bytes.IndexByte(d.b[d.i:], 'e')
		if end < 1 || end > 20 {
			return nil, d.fail("bad integer")
		}
		s := string(d.b[d.i : d.i+end])
		if (len(s) > 1 && s[0] == '0') || s == "-0" || (len(s) > 2 && s[0] == '-' && s[1] == '0') {
			return nil, d.fail("integer with leading zero")
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, d.fail("bad integer")
		}
		d.i += end + 1
		return n, nil
	case c >= '0' && c <= '9':
		return d.str()
	case c == 'l':
		d.i++
		var out []any
		for {
			if d.i >= len(d.b) {
				return nil, d.fail("unterminated list")
			}
			if d.b[d.i] == 'e' {
				d.i++
				if out == nil {
					out = []any{}
				}
				return out, nil
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	case c == 'd':
		d.i++
		out := Dict{}
		for {
			if d.i >= len(d.b) {
				return nil, d.fail("unterminated dictionary")
			}
			if d.b[d.i] == 'e' {
				d.i++
				return out, nil
			}
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = v
		}
	}
	return nil, d.fail("unexpected byte")
}

func (d *decoder) str() ([]byte, error) {
	colon := bytes.IndexByte(d.b[d.i:], ':')
	if colon < 1 || colon > 7 {
		return nil, d.fail("bad string length")
	}
	n, err := strconv.Atoi(string(d.b[d.i : d.i+colon]))
	if err != nil || n < 0 || (colon > 1 && d.b[d.i] == '0') {
		return nil, d.fail("bad string length")
	}
	d.i += colon + 1
	if n > len(d.b)-d.i {
		return nil, d.fail("string runs past the end")
	}
	s := d.b[d.i : d.i+n]
	d.i += n
	return s, nil
}

// Encode appends the bencoding of v to dst. Dictionary keys are sorted as
// bencode requires. Supported: string, []byte, int, int64, uint64, []any,
// []string, Dict, map[string]any.
func Encode(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		dst = strconv.AppendInt(dst, int64(len(x)), 10)
		dst = append(dst, ':')
		return append(dst, x...), nil
	case []byte:
		dst = strconv.AppendInt(dst, int64(len(x)), 10)
		dst = append(dst, ':')
		return append(dst, x...), nil
	case int:
		return Encode(dst, int64(x))
	case uint64:
		dst = append(dst, 'i')
		dst = strconv.AppendUint(dst, x, 10)
		return append(dst, 'e'), nil
	case int64:
		dst = append(dst, 'i')
		dst = strconv.AppendInt(dst, x, 10)
		return append(dst, 'e'), nil
	case []string:
		dst = append(dst, 'l')
		for _, s := range x {
			dst, _ = Encode(dst, s)
		}
		return append(dst, 'e'), nil
	case []any:
		dst = append(dst, 'l')
		for _, e := range x {
			var err error
			if dst, err = Encode(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	case Dict:
		return encodeDict(dst, x)
	case map[string]any:
		return encodeDict(dst, x)
	}
	return nil, fmt.Errorf("ng: cannot bencode %T", v)
}

func encodeDict(dst []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, 'd')
	for _, k := range keys {
		dst, _ = Encode(dst, k)
		var err error
		if dst, err = Encode(dst, m[k]); err != nil {
			return nil, err
		}
	}
	return append(dst, 'e'), nil
}
