package twiml

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// field describes one attribute of element type T once, for both directions:
// parse reads a value into the element (or warns and leaves the default in
// place, as Twilio does), and format gives the value to write and whether to
// write it (false when it equals the default). Keeping both in one table is
// what makes parse → Bytes → parse give back the same value.
type field[T any] struct {
	name   string
	parse  func(p *parser, e *T, v string, line int)
	format func(e *T) (string, bool)
}

// maxInt bounds every integer attribute so that seconds and milliseconds
// convert to time.Duration without overflow.
const maxInt = 10_000_000

// invalid records an attribute value Twilio would reject with a warning; the
// attribute keeps its default.
func (p *parser) invalid(code, line int, attr, v, want string) {
	p.warn(code, line, fmt.Sprintf("<%s> %s=%q is invalid: %s; using the default", p.tag, attr, clip(v), want))
}

func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

func parseInt(v string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < -maxInt || n > maxInt {
		return 0, false
	}
	return n, true
}

func parseBool(v string) (b, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func parseMethod(v string) (string, bool) {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case MethodGET:
		return MethodGET, true
	case MethodPOST:
		return MethodPOST, true
	}
	return "", false
}

// strField is a free-form string attribute whose default is empty.
func strField[T any](name string, f func(*T) *string) field[T] {
	return field[T]{name,
		func(_ *parser, e *T, v string, _ int) { *f(e) = v },
		func(e *T) (string, bool) { v := *f(e); return v, v != "" }}
}

// maxLenField is a free-form string of at most max characters.
func maxLenField[T any](name string, code, max int, f func(*T) *string) field[T] {
	want := fmt.Sprintf("must be at most %d characters", max)
	return field[T]{name,
		func(p *parser, e *T, v string, line int) {
			if utf8.RuneCountInString(v) > max {
				p.invalid(code, line, name, v, want)
				return
			}
			*f(e) = v
		},
		func(e *T) (string, bool) { v := *f(e); return v, v != "" }}
}

// defStrField is a free-form string attribute with a default; an empty value
// keeps the default.
func defStrField[T any](name, def string, f func(*T) *string) field[T] {
	return field[T]{name,
		func(_ *parser, e *T, v string, _ int) {
			if v != "" {
				*f(e) = v
			}
		},
		func(e *T) (string, bool) { v := *f(e); return v, v != "" && v != def }}
}

// optField is a string attribute whose absence differs from an empty value
// (nil when absent).
func optField[T any](name string, f func(*T) **string) field[T] {
	return field[T]{name,
		func(_ *parser, e *T, v string, _ int) { *f(e) = &v },
		func(e *T) (string, bool) {
			if s := *f(e); s != nil {
				return *s, true
			}
			return "", false
		}}
}

// methodField is GET or POST, default POST.
func methodField[T any](name string, code int, f func(*T) *string) field[T] {
	return field[T]{name,
		func(p *parser, e *T, v string, line int) {
			m, ok := parseMethod(v)
			if !ok {
				p.invalid(code, line, name, v, "must be GET or POST")
				return
			}
			*f(e) = m
		},
		func(e *T) (string, bool) { m := *f(e); return m, m != "" && m != MethodPOST }}
}

// intField is an integer in [lo, hi].
func intField[T any](name string, code, def, lo, hi int, f func(*T) *int) field[T] {
	want := fmt.Sprintf("must be an integer from %d to %d", lo, hi)
	return field[T]{name,
		func(p *parser, e *T, v string, line int) {
			n, ok := parseInt(v)
			if !ok || n < lo || n > hi {
				p.invalid(code, line, name, v, want)
				return
			}
			*f(e) = n
		},
		func(e *T) (string, bool) { n := *f(e); return strconv.Itoa(n), n != def }}
}

// durField is an integer count of unit (time.Second or time.Millisecond) in
// [lo, hi], held as a time.Duration.
func durField[T any](name string, code int, unit, def time.Duration, lo, hi int, f func(*T) *time.Duration) field[T] {
	u := "seconds"
	if unit == time.Millisecond {
		u = "milliseconds"
	}
	want := fmt.Sprintf("must be an integer number of %s from %d to %d", u, lo, hi)
	return field[T]{name,
		func(p *parser, e *T, v string, line int) {
			n, ok := parseInt(v)
			if !ok || n < lo || n > hi {
				p.invalid(code, line, name, v, want)
				return
			}
			*f(e) = time.Duration(n) * unit
		},
		func(e *T) (string, bool) { d := *f(e); return strconv.FormatInt(int64(d/unit), 10), d != def }}
}

// secField is durField in seconds.
func secField[T any](name string, code int, def time.Duration, lo, hi int, f func(*T) *time.Duration) field[T] {
	return durField(name, code, time.Second, def, lo, hi, f)
}

// boolField is true or false (any case).
func boolField[T any](name string, code int, def bool, f func(*T) *bool) field[T] {
	return field[T]{name,
		func(p *parser, e *T, v string, line int) {
			b, ok := parseBool(v)
			if !ok {
				p.invalid(code, line, name, v, `must be "true" or "false"`)
				return
			}
			*f(e) = b
		},
		func(e *T) (string, bool) { b := *f(e); return strconv.FormatBool(b), b != def }}
}

// enumField is one of a fixed list of values (exact case). aliases maps
// other accepted spellings to a value (Dial record="true").
func enumField[T any, E ~string](name string, code int, def E, allowed []E, aliases map[string]E, f func(*T) *E) field[T] {
	list := make([]string, len(allowed))
	for i, a := range allowed {
		list[i] = string(a)
	}
	want := "must be one of " + strings.Join(list, ", ")
	return field[T]{name,
		func(p *parser, e *T, v string, line int) {
			t := strings.TrimSpace(v)
			for _, a := range allowed {
				if string(a) == t {
					*f(e) = a
					return
				}
			}
			if a, ok := aliases[t]; ok {
				*f(e) = a
				return
			}
			p.invalid(code, line, name, v, want)
		},
		func(e *T) (string, bool) { x := *f(e); return string(x), x != "" && x != def }}
}

// setField is a space-separated set of event names. Unknown names are
// dropped with a warning; the known ones are kept.
func setField[T any, S ~uint8 | ~uint16](name string, code int, def S, names []string, f func(*T) *S) field[T] {
	want := "names must be from: " + strings.Join(names, " ")
	return field[T]{name,
		func(p *parser, e *T, v string, line int) {
			bits, unknown := parseSet(v, names)
			if unknown != "" {
				p.warn(code, line, fmt.Sprintf("<%s> %s=%q: unknown event %q dropped; %s", p.tag, name, clip(v), clip(unknown), want))
			}
			*f(e) = S(bits)
		},
		func(e *T) (string, bool) { s := *f(e); return setString(uint32(s), names), s != def }}
}

// charsField is a string of characters from set; empty keeps the default
// unless allowEmpty.
func charsField[T any](name string, code int, set, def string, allowEmpty bool, maxLen int, f func(*T) *string) field[T] {
	want := fmt.Sprintf("must be characters from %q", set)
	if maxLen > 0 {
		want = fmt.Sprintf("must be at most %d characters from %q", maxLen, set)
	}
	return field[T]{name,
		func(p *parser, e *T, v string, line int) {
			if v == "" && !allowEmpty {
				p.invalid(code, line, name, v, want)
				return
			}
			if (maxLen > 0 && len(v) > maxLen) || strings.Trim(v, set) != "" {
				p.invalid(code, line, name, v, want)
				return
			}
			*f(e) = v
		},
		func(e *T) (string, bool) { s := *f(e); return s, s != def }}
}

const dtmfChars = "0123456789ABCD#*wW"

// applyAttrs reads the attributes of an element through its field table.
// Unknown attributes are 12200 warnings. Namespace declarations are ignored.
func applyAttrs[T any](p *parser, e *T, tag string, line int, attrs []xmlAttr, fields []field[T]) {
	p.tag = tag
outer:
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if a.Name.Space == "" {
			for i := range fields {
				if fields[i].name == a.Name.Local {
					fields[i].parse(p, e, a.Value, line)
					continue outer
				}
			}
		}
		p.warn(CodeSchema, line, fmt.Sprintf("<%s> has unknown attribute %q; ignored", tag, clip(qname(a.Name))))
	}
}

// writeAttrs writes the attributes of e that differ from their defaults.
func writeAttrs[T any](w *writer, e *T, fields []field[T]) {
	for i := range fields {
		if v, ok := fields[i].format(e); ok {
			w.attr(fields[i].name, v)
		}
	}
}
