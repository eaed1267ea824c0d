package twiml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

type xmlAttr = xml.Attr

// Response is a parsed or built TwiML voice document.
type Response struct {
	Verbs    []Verb    // in document order
	Warnings []Warning // from Parse; nil for documents built in Go
}

// New returns a document with the given verbs, for building TwiML in Go.
func New(verbs ...Verb) *Response { return &Response{Verbs: verbs} }

// Append adds verbs to the document and returns it, for chaining.
func (r *Response) Append(verbs ...Verb) *Response {
	r.Verbs = append(r.Verbs, verbs...)
	return r
}

// maxGenericDepth bounds the nesting kept inside an Element (the modelled
// verbs have a fixed, shallow grammar). Deeper elements are skipped with a
// warning, so a hostile document cannot make Parse recurse deeply.
const maxGenericDepth = 16

// Parse reads a TwiML voice document.
//
// It fails only when nothing can run, as Twilio does: a body over
// MaxDocumentSize (11750, checked before parsing), malformed XML (12100), or
// a root other than <Response> (12102); the error is an *Error. Everything
// Twilio logs as a warning and runs past is a Warning in the result: unknown
// elements (skipped) and attributes (ignored) are 12200, and an invalid
// attribute value gets the verb's 13xxx code and leaves the attribute at its
// default. At most 100 warnings are listed, then one that counts the rest.
// Text is trimmed of surrounding white space.
func Parse(doc []byte) (*Response, error) {
	if len(doc) > MaxDocumentSize {
		return nil, &Error{Code: CodeDocumentTooLarge,
			Message: fmt.Sprintf("document is %d bytes; the limit is %d", len(doc), MaxDocumentSize)}
	}
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	doc = latin1ToUTF8(doc)
	p := &parser{doc: doc}
	p.d = xml.NewDecoder(bytes.NewReader(doc))
	p.d.CharsetReader = charsetReader
	r, err := p.document()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ParseStrict is Parse that also fails on the first warning, returned as an
// *Error with the warning's code and line. Calls should run with Parse, as
// Twilio does; ParseStrict is for checking a document before it is stored or
// sent (tests, tools, a REST API that wants to refuse bad TwiML early).
func ParseStrict(doc []byte) (*Response, error) {
	r, err := Parse(doc)
	if err != nil {
		return nil, err
	}
	if len(r.Warnings) > 0 {
		w := r.Warnings[0]
		return nil, &Error{Code: w.Code, Line: w.Line, Message: w.Message}
	}
	return r, nil
}

type parser struct {
	d        *xml.Decoder
	doc      []byte
	line     int   // line where the last token started
	off      int64 // byte offset where the last token started
	tag      string
	names    []xml.Name // scratch stack for skip and Say
	warnings []Warning
	dropped  int // warnings beyond maxWarnings
	lastLine int // line of the last dropped warning
}

// maxWarnings bounds the warnings kept for one document, so that a hostile
// document cannot flood the caller's logs; the rest are counted.
const maxWarnings = 100

func (p *parser) warn(code, line int, msg string) {
	if len(p.warnings) >= maxWarnings {
		p.dropped++
		p.lastLine = line
		return
	}
	p.warnings = append(p.warnings, Warning{Code: code, Line: line, Message: msg})
}

// token returns the next raw token. It returns io.EOF at the end of input
// and an *Error (12100) for malformed XML. RawToken is used because it does
// no namespace work; the parser checks that end tags match.
func (p *parser) token() (xml.Token, error) {
	p.off = p.d.InputOffset()
	p.line, _ = p.d.InputPos()
	tok, err := p.d.RawToken()
	if err == nil {
		return tok, nil
	}
	if err == io.EOF {
		return nil, io.EOF
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return nil, &Error{Code: CodeParse, Line: se.Line, Message: se.Msg}
	}
	line, _ := p.d.InputPos()
	return nil, &Error{Code: CodeParse, Line: line, Message: err.Error()}
}

func (p *parser) syntax(msg string) error {
	return &Error{Code: CodeParse, Line: p.line, Message: msg}
}

// inner is token for use inside an element: the end of input is an error.
func (p *parser) inner(parent xml.Name) (xml.Token, error) {
	tok, err := p.token()
	if err == io.EOF {
		return nil, p.syntax(fmt.Sprintf("unexpected end of document inside <%s>", clip(qname(parent))))
	}
	return tok, err
}

func (p *parser) checkEnd(open xml.Name, end xml.Name) error {
	if open != end {
		return p.syntax(fmt.Sprintf("element <%s> closed by </%s>", clip(qname(open)), clip(qname(end))))
	}
	return nil
}

// child reads to the next child element of parent. Character data on the
// way is appended to *text, or, when text is nil, reported once as
// unexpected. It returns ok=false at parent's end tag.
func (p *parser) child(parent xml.Name, text *[]byte, strayText *bool) (se xml.StartElement, line int, ok bool, err error) {
	for {
		tok, err := p.inner(parent)
		if err != nil {
			return se, 0, false, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, p.line, true, nil
		case xml.EndElement:
			return se, 0, false, p.checkEnd(parent, t.Name)
		case xml.CharData:
			if text != nil {
				*text = append(*text, t...)
			} else if !*strayText && !isSpace(t) {
				*strayText = true
				p.warn(CodeSchema, textLine(p.line, t), fmt.Sprintf("<%s> does not take text; ignored", clip(qname(parent))))
			}
		}
	}
}

// skip consumes the rest of the element se (already read), checking that it
// is well formed. It does not recurse, so depth costs nothing but the stack
// of names.
func (p *parser) skip(se xml.StartElement) error {
	stack := append(p.names[:0], se.Name)
	defer func() { p.names = stack[:0] }()
	for len(stack) > 0 {
		tok, err := p.inner(stack[len(stack)-1])
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name)
		case xml.EndElement:
			if err := p.checkEnd(stack[len(stack)-1], t.Name); err != nil {
				return err
			}
			stack = stack[:len(stack)-1]
		}
	}
	return nil
}

// unknown warns about an element that has no place here and skips it.
func (p *parser) unknown(code int, se xml.StartElement, line int, where string) error {
	p.warn(code, line, fmt.Sprintf("<%s> is not allowed %s; skipped", clip(qname(se.Name)), where))
	return p.skip(se)
}

func (p *parser) document() (*Response, error) {
	var root xml.StartElement
	rootLine := 0
prolog:
	for {
		tok, err := p.token()
		if err == io.EOF {
			return nil, &Error{Code: CodeParse, Line: p.line, Message: "document has no root element"}
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			root, rootLine = t, p.line
			break prolog
		case xml.EndElement:
			return nil, p.syntax(fmt.Sprintf("unexpected end element </%s>", clip(qname(t.Name))))
		case xml.CharData:
			if !isSpace(t) {
				p.line = textLine(p.line, t)
				return nil, p.syntax("text before the root element")
			}
		}
	}
	if root.Name.Space != "" || root.Name.Local != "Response" {
		return nil, &Error{Code: CodeRootNotResponse, Line: rootLine,
			Message: fmt.Sprintf("root element is <%s>; it must be <Response>", clip(qname(root.Name)))}
	}
	r := &Response{}
	applyAttrs(p, r, "Response", rootLine, root.Attr, nil)
	stray := false
	for {
		se, line, ok, err := p.child(root.Name, nil, &stray)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		v, err := p.verb(se, line)
		if err != nil {
			return nil, err
		}
		if v != nil {
			r.Verbs = append(r.Verbs, v)
		}
	}
	for {
		tok, err := p.token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return nil, p.syntax(fmt.Sprintf("element <%s> after the root element", clip(qname(t.Name))))
		case xml.EndElement:
			return nil, p.syntax(fmt.Sprintf("unexpected end element </%s>", clip(qname(t.Name))))
		case xml.CharData:
			if !isSpace(t) {
				p.line = textLine(p.line, t)
				return nil, p.syntax("text after the root element")
			}
		}
	}
	if p.dropped > 0 {
		p.warnings = append(p.warnings, Warning{Code: CodeSchema, Line: p.lastLine,
			Message: fmt.Sprintf("%d more warnings not listed", p.dropped)})
	}
	r.Warnings = p.warnings
	return r, nil
}

// verb parses a child of <Response>. It returns nil for a skipped element.
func (p *parser) verb(se xml.StartElement, line int) (Verb, error) {
	if se.Name.Space != "" {
		return nil, p.unknown(CodeSchema, se, line, "in <Response> (unknown element)")
	}
	var v Verb
	var err error
	switch se.Name.Local {
	case "Say":
		v, err = nonNil(p.say(se, line))
	case "Play":
		v, err = nonNil(p.play(se, line))
	case "Pause":
		v, err = nonNil(p.pause(se, line))
	case "Gather":
		v, err = nonNil(p.gather(se, line))
	case "Record":
		v, err = nonNil(p.record(se, line))
	case "Redirect":
		v, err = nonNil(p.redirect(se, line))
	case "Hangup":
		v, err = nonNil(p.hangup(se, line))
	case "Reject":
		v, err = nonNil(p.reject(se, line))
	case "Leave":
		v, err = nonNil(p.leave(se, line))
	case "Dial":
		v, err = nonNil(p.dial(se, line))
	case "Refer":
		v, err = nonNil(p.refer(se, line))
	case "Enqueue":
		v, err = nonNil(p.enqueue(se, line))
	case "Start":
		v, err = nonNil(p.start(se, line))
	case "Stop":
		v, err = nonNil(p.stop(se, line))
	case "Connect":
		v, err = nonNil(p.connect(se, line))
	case "Sms", "Echo", "Pay", "Prompt", "Queue":
		// Legacy or niche verbs (twilio-voice.md §1.1): known, kept as written.
		v, err = nonNil(p.generic(se, line, 0))
	default:
		return nil, p.unknown(CodeSchema, se, line, "in <Response> (unknown verb)")
	}
	return v, err
}

// nonNil turns a typed nil pointer into a nil interface.
func nonNil[T interface {
	*E
	Verb
}, E any](v T, err error) (Verb, error) {
	if err != nil || v == nil {
		return nil, err
	}
	return v, nil
}

// generic reads a known-but-unmodelled element into an Element.
func (p *parser) generic(se xml.StartElement, line, depth int) (*Element, error) {
	e := &Element{Pos: Pos{line}, Name: qname(se.Name)}
	if len(se.Attr) > 0 {
		e.Attrs = make([]Attr, len(se.Attr))
		for i, a := range se.Attr {
			e.Attrs[i] = Attr{Name: qname(a.Name), Value: a.Value}
		}
	}
	var text []byte
	for {
		c, cl, ok, err := p.child(se.Name, &text, nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if depth+1 >= maxGenericDepth {
			if err := p.unknown(CodeSchema, c, cl, fmt.Sprintf("this deep (more than %d levels)", maxGenericDepth)); err != nil {
				return nil, err
			}
			continue
		}
		ce, err := p.generic(c, cl, depth+1)
		if err != nil {
			return nil, err
		}
		e.Children = append(e.Children, ce)
	}
	e.Text = trimText(text)
	return e, nil
}

// parameter reads <Parameter name value/>.
func (p *parser) parameter(se xml.StartElement, line int) (Parameter, error) {
	pr := Parameter{Pos: Pos{line}}
	applyAttrs(p, &pr, "Parameter", line, se.Attr, parameterFields)
	if pr.Name == "" {
		p.warn(CodeSchema, line, "<Parameter> has no name")
	}
	stray := false
	for {
		c, cl, ok, err := p.child(se.Name, nil, &stray)
		if err != nil || !ok {
			return pr, err
		}
		if err := p.unknown(CodeSchema, c, cl, "in <Parameter>"); err != nil {
			return pr, err
		}
	}
}

var parameterFields = []field[Parameter]{
	strField("name", func(e *Parameter) *string { return &e.Name }),
	strField("value", func(e *Parameter) *string { return &e.Value }),
}

// empty reads an element that takes no attributes of note and no content
// beyond what the caller handles: it warns about and skips every child.
func (p *parser) noChildren(se xml.StartElement, text *[]byte) error {
	stray := false
	for {
		c, cl, ok, err := p.child(se.Name, text, &stray)
		if err != nil || !ok {
			return err
		}
		if err := p.unknown(CodeSchema, c, cl, "in <"+se.Name.Local+">"); err != nil {
			return err
		}
	}
}

// textOnly reads an element whose content is text (a URL, a number, a name).
func (p *parser) textOnly(se xml.StartElement) (string, error) {
	var text []byte
	if err := p.noChildren(se, &text); err != nil {
		return "", err
	}
	return trimText(text), nil
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func isSpace(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// textLine is the line of the first non-space character of text that
// starts on line.
func textLine(line int, text []byte) int {
	for _, c := range text {
		switch c {
		case '\n':
			line++
		case ' ', '\t', '\r':
		default:
			return line
		}
	}
	return line
}

func trimText(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	return string(b)
}

// charsetReader accepts the encodings that need no conversion by the time
// the decoder sees them: ASCII, and ISO-8859-1, which Parse has already
// converted to UTF-8 (see latin1ToUTF8).
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return input, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", label)
}

// latin1ToUTF8 converts a document that declares ISO-8859-1 (some PHP stacks
// still emit it) to UTF-8 up front, so that byte offsets, which Say uses to
// keep its SSML as written, refer to the text the decoder reads.
func latin1ToUTF8(doc []byte) []byte {
	if !bytes.HasPrefix(doc, []byte("<?xml")) {
		return doc
	}
	end := bytes.Index(doc, []byte("?>"))
	if end < 0 {
		return doc
	}
	decl := string(doc[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return doc
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return doc
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return doc
	}
	q := rest[0]
	j := strings.IndexByte(rest[1:], q)
	if j < 0 {
		return doc
	}
	switch strings.ToLower(rest[1 : 1+j]) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
	default:
		return doc
	}
	ascii := true
	for _, c := range doc {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return doc
	}
	out := make([]byte, 0, len(doc)+len(doc)/8)
	for _, c := range doc {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
