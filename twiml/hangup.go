package twiml

import "encoding/xml"

// Hangup is <Hangup>: end the call (twilio-voice.md §1.2). Inside an
// application reached by <Dial><Application>, its Parameters go back to the
// dialing application's Dial action as ReturnParam_<name> (§6).
type Hangup struct {
	Pos
	Parameters []Parameter
}

// NewHangup returns a Hangup with the given return parameters.
func NewHangup(params ...Parameter) *Hangup { return &Hangup{Parameters: params} }

func (*Hangup) Tag() string       { return "Hangup" }
func (*Hangup) isVerb()           {}
func (e *Hangup) write(w *writer) { writeWithParams(w, "Hangup", e, nil, "", e.Parameters) }

func (p *parser) hangup(se xml.StartElement, line int) (*Hangup, error) {
	e := &Hangup{Pos: Pos{line}}
	applyAttrs(p, e, "Hangup", line, se.Attr, nil)
	params, err := p.parameters(se, "Hangup", nil)
	e.Parameters = params
	return e, err
}

// RejectReason is the reason attribute of <Reject>.
type RejectReason string

// Reject reasons (twilio-voice.md §8.1): busy answers 486 and ends the call
// as busy; rejected ends it as no-answer.
const (
	RejectRejected RejectReason = "rejected"
	RejectBusy     RejectReason = "busy"
)

// Reject is <Reject>: refuse the call without answering it, when it is the
// first verb (twilio-voice.md §1.2, §8.1). Its Parameters go back to a
// dialing application like Hangup's.
type Reject struct {
	Pos
	Reason     RejectReason // default RejectRejected
	Parameters []Parameter
}

// NewReject returns a Reject with the given reason ("" means rejected).
func NewReject(reason RejectReason) *Reject {
	if reason == "" {
		reason = RejectRejected
	}
	return &Reject{Reason: reason}
}

func (*Reject) Tag() string { return "Reject" }
func (*Reject) isVerb()     {}
func (e *Reject) write(w *writer) {
	writeWithParams(w, "Reject", e, rejectFields, "", e.Parameters)
}

var rejectFields = []field[Reject]{
	// reason has no documented code; 12200 (schema: bad value).
	enumField("reason", CodeSchema, RejectRejected, []RejectReason{RejectRejected, RejectBusy}, nil,
		func(e *Reject) *RejectReason { return &e.Reason }),
}

func (p *parser) reject(se xml.StartElement, line int) (*Reject, error) {
	e := NewReject(RejectRejected)
	e.Line = line
	applyAttrs(p, e, "Reject", line, se.Attr, rejectFields)
	params, err := p.parameters(se, "Reject", nil)
	e.Parameters = params
	return e, err
}

// Leave is <Leave>: take the caller out of the queue it waits in; execution
// continues after the original <Enqueue> (twilio-voice.md §1.2).
type Leave struct {
	Pos
}

// NewLeave returns a Leave.
func NewLeave() *Leave { return &Leave{} }

func (*Leave) Tag() string       { return "Leave" }
func (*Leave) isVerb()           {}
func (e *Leave) write(w *writer) { writeLeaf[Leave](w, "Leave", e, nil, "") }

func (p *parser) leave(se xml.StartElement, line int) (*Leave, error) {
	e := &Leave{Pos: Pos{line}}
	applyAttrs(p, e, "Leave", line, se.Attr, nil)
	return e, p.noChildren(se, nil)
}

// parameters reads an element whose children are <Parameter>s. Text is
// appended to *text when text is not nil, otherwise warned about.
func (p *parser) parameters(se xml.StartElement, tag string, text *[]byte) ([]Parameter, error) {
	var params []Parameter
	stray := false
	for {
		c, cl, ok, err := p.child(se.Name, text, &stray)
		if err != nil || !ok {
			return params, err
		}
		if c.Name.Space != "" || c.Name.Local != "Parameter" {
			if err := p.unknown(CodeSchema, c, cl, "in <"+tag+"> (only Parameter)"); err != nil {
				return nil, err
			}
			continue
		}
		pr, err := p.parameter(c, cl)
		if err != nil {
			return nil, err
		}
		params = append(params, pr)
	}
}
