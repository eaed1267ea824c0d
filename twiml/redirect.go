package twiml

import "encoding/xml"

// Redirect is <Redirect>: fetch another document and run it instead
// (twilio-voice.md §1.2). Everything after it is unreachable.
type Redirect struct {
	Pos
	URL    string // the text, trimmed; may be relative ("" = the current document)
	Method string // default POST
}

// NewRedirect returns a Redirect to url with Twilio's defaults.
func NewRedirect(url string) *Redirect { return &Redirect{URL: url, Method: MethodPOST} }

func (*Redirect) Tag() string       { return "Redirect" }
func (*Redirect) isVerb()           {}
func (e *Redirect) write(w *writer) { writeLeaf(w, "Redirect", e, redirectFields, e.URL) }

var redirectFields = []field[Redirect]{
	methodField("method", CodeRedirectMethod, func(e *Redirect) *string { return &e.Method }),
}

func (p *parser) redirect(se xml.StartElement, line int) (*Redirect, error) {
	e := NewRedirect("")
	e.Line = line
	applyAttrs(p, e, "Redirect", line, se.Attr, redirectFields)
	u, err := p.textOnly(se)
	e.URL = u
	return e, err
}
