package twiml

import (
	"encoding/xml"
	"fmt"
)

// Refer is <Refer>: ask the SIP device on this leg to transfer the call
// (twilio-voice.md §5.2).
type Refer struct {
	Pos
	// Action is requested when the transfer finishes; nil when absent
	// (execution continues, or the leg ends if Refer is last).
	Action *string
	Method string // default POST
	// Sip is the transfer target; nil when the document gave none (a 13215
	// warning), which the interpreter must treat as a failed Refer.
	Sip *ReferSip
}

// ReferSip is the <Sip> inside <Refer>: the Refer-To URI, with any headers
// after '?' as written.
type ReferSip struct {
	Pos
	URI string
}

// NewRefer returns a Refer to uri with Twilio's defaults.
func NewRefer(uri string) *Refer { return &Refer{Method: MethodPOST, Sip: &ReferSip{URI: uri}} }

func (*Refer) Tag() string { return "Refer" }
func (*Refer) isVerb()     {}
func (e *Refer) write(w *writer) {
	w.start("Refer")
	writeAttrs(w, e, referFields)
	if e.Sip == nil {
		w.selfClose()
		return
	}
	w.closeStart()
	w.textElement("Sip", e.Sip.URI)
	w.end("Refer")
}

var referFields = []field[Refer]{
	optField("action", func(e *Refer) **string { return &e.Action }),
	// Refer has no documented codes; its method uses 13210 (Dial: invalid
	// method), the nearest verb that also transfers a SIP leg.
	methodField("method", CodeDialMethod, func(e *Refer) *string { return &e.Method }),
}

func (p *parser) refer(se xml.StartElement, line int) (*Refer, error) {
	e := &Refer{Pos: Pos{line}, Method: MethodPOST}
	applyAttrs(p, e, "Refer", line, se.Attr, referFields)
	stray := false
	for {
		c, cl, ok, err := p.child(se.Name, nil, &stray)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if c.Name.Space != "" || c.Name.Local != "Sip" {
			if err := p.unknown(CodeDialNested, c, cl, "inside <Refer> (only Sip)"); err != nil {
				return nil, err
			}
			continue
		}
		rs := &ReferSip{Pos: Pos{cl}}
		applyAttrs(p, rs, "Sip", cl, c.Attr, nil)
		if rs.URI, err = p.textOnly(c); err != nil {
			return nil, err
		}
		if e.Sip != nil {
			p.warn(CodeDialNested, cl, "<Refer> takes one <Sip>; the extra one is ignored")
			continue
		}
		e.Sip = rs
	}
	switch {
	case e.Sip == nil:
		p.warn(CodeDialNested, line, "<Refer> has no <Sip> target")
	case e.Sip.URI == "":
		p.warn(CodeDialNested, e.Sip.Line, "<Refer><Sip> has no URI")
	case len(e.Sip.URI) > 256:
		// Refer-To may be at most 256 characters (§5.1).
		p.warn(CodeSchema, e.Sip.Line, fmt.Sprintf("<Refer><Sip> URI is %d characters; the limit is 256", len(e.Sip.URI)))
	}
	return e, nil
}
