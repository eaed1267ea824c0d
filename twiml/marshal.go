package twiml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"unicode"
	"unicode/utf8"
)

// Bytes writes the document as XML, with an XML declaration and no
// indentation. Attributes equal to their defaults are left out, so that
// Parse gives back the same values. It fails (with an *Error, Line 0) only
// on what cannot be written as XML: a nil verb or noun, an Element name that
// is not an XML name, or SSML that is not a well-formed fragment.
func (r *Response) Bytes() ([]byte, error) {
	w := &writer{b: make([]byte, 0, 512)}
	w.raw(`<?xml version="1.0" encoding="UTF-8"?>`)
	w.start("Response")
	if len(r.Verbs) == 0 {
		w.selfClose()
	} else {
		w.closeStart()
		for _, v := range r.Verbs {
			w.node(v)
		}
		w.end("Response")
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

// String returns the document as XML, or the error text if it cannot be
// written.
func (r *Response) String() string {
	b, err := r.Bytes()
	if err != nil {
		return err.Error()
	}
	return string(b)
}

type writer struct {
	b   []byte
	err error
}

func (w *writer) fail(msg string) {
	if w.err == nil {
		w.err = &Error{Code: CodeParse, Message: msg}
	}
}

func (w *writer) raw(s string) { w.b = append(w.b, s...) }

func (w *writer) start(tag string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, tag...)
}

func (w *writer) closeStart() { w.b = append(w.b, '>') }
func (w *writer) selfClose()  { w.b = append(w.b, "/>"...) }

func (w *writer) end(tag string) {
	w.b = append(w.b, "</"...)
	w.b = append(w.b, tag...)
	w.b = append(w.b, '>')
}

func (w *writer) attr(name, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, `="`...)
	w.b = appendEscaped(w.b, value, true)
	w.b = append(w.b, '"')
}

func (w *writer) text(s string) { w.b = appendEscaped(w.b, s, false) }

// textElement writes <tag>text</tag>.
func (w *writer) textElement(tag, text string) {
	w.start(tag)
	w.closeStart()
	w.text(text)
	w.end(tag)
}

func (w *writer) params(ps []Parameter) {
	for i := range ps {
		w.start("Parameter")
		writeAttrs(w, &ps[i], parameterFields)
		w.selfClose()
	}
}

// node writes any element, refusing nil (a nil pointer in an interface too).
func (w *writer) node(n Node) {
	if isNil(n) {
		w.fail("nil element in document")
		return
	}
	n.write(w)
}

func isNil(n Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// writeLeaf writes an element with attributes and optional text.
func writeLeaf[T any](w *writer, tag string, e *T, fields []field[T], text string) {
	w.start(tag)
	writeAttrs(w, e, fields)
	if text == "" {
		w.selfClose()
		return
	}
	w.closeStart()
	w.text(text)
	w.end(tag)
}

// writeWithParams writes an element with attributes, text and Parameters.
func writeWithParams[T any](w *writer, tag string, e *T, fields []field[T], text string, ps []Parameter) {
	if len(ps) == 0 {
		writeLeaf(w, tag, e, fields, text)
		return
	}
	w.start(tag)
	writeAttrs(w, e, fields)
	w.closeStart()
	w.text(text)
	w.params(ps)
	w.end(tag)
}

// writeParent writes an element with attributes and child nodes.
func writeParent[T any, N Node](w *writer, tag string, e *T, fields []field[T], children []N) {
	w.start(tag)
	writeAttrs(w, e, fields)
	if len(children) == 0 {
		w.selfClose()
		return
	}
	w.closeStart()
	for _, c := range children {
		w.node(c)
	}
	w.end(tag)
}

func (w *writer) say(s *Say) {
	w.start("Say")
	writeAttrs(w, s, sayFields)
	if s.SSML == "" && s.Text == "" {
		w.selfClose()
		return
	}
	w.closeStart()
	if s.SSML != "" {
		if err := checkFragment(s.SSML); err != nil {
			w.fail("Say SSML is not well-formed XML: " + err.Error())
			return
		}
		w.raw(s.SSML)
	} else {
		w.text(s.Text)
	}
	w.end("Say")
}

func (e *Element) write(w *writer) {
	if !isXMLName(e.Name) {
		w.fail(fmt.Sprintf("element name %q is not an XML name", e.Name))
		return
	}
	w.start(e.Name)
	for _, a := range e.Attrs {
		if !isXMLName(a.Name) {
			w.fail(fmt.Sprintf("attribute name %q of <%s> is not an XML name", a.Name, e.Name))
			return
		}
		w.attr(a.Name, a.Value)
	}
	if e.Text == "" && len(e.Children) == 0 {
		w.selfClose()
		return
	}
	w.closeStart()
	w.text(e.Text)
	for _, c := range e.Children {
		w.node(c)
	}
	w.end(e.Name)
}

// checkFragment reports whether s is well-formed XML content.
func checkFragment(s string) error {
	d := xml.NewDecoder(io.MultiReader(bytes.NewReader([]byte("<x>")), bytes.NewReader([]byte(s)), bytes.NewReader([]byte("</x>"))))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return errors.New(se.Msg)
			}
			return err
		}
	}
}

// isXMLName reports whether s is an XML name (prefix:local allowed).
func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case unicode.IsLetter(c) || c == '_' || c == ':':
		case i > 0 && (unicode.IsDigit(c) || c == '-' || c == '.' || unicode.Is(unicode.Mn, c)):
		default:
			return false
		}
	}
	return true
}

// appendEscaped appends s escaped for XML text or a double-quoted attribute.
// Tab, newline and carriage return are written as character references in
// attributes (and CR in text), so that a parser's end-of-line handling does
// not change them; characters XML cannot carry become U+FFFD, as
// xml.EscapeText does.
func appendEscaped(b []byte, s string, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '"' && attr:
			esc = "&#34;"
		case r == '\t' && attr:
			esc = "&#x9;"
		case r == '\n' && attr:
			esc = "&#xA;"
		case r == '\r':
			esc = "&#xD;"
		case !inXMLCharRange(r) || (r == utf8.RuneError && width == 1):
			esc = "\uFFFD"
		default:
			i += width
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		i += width
		last = i
	}
	return append(b, s[last:]...)
}

// inXMLCharRange is the Char production of XML 1.0 §2.2.
func inXMLCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
