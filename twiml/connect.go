package twiml

import "encoding/xml"

// Connect is <Connect>: hand the call to a two-way session (a <Stream>, or a
// Twilio product kept as an *Element) and block until it ends
// (twilio-voice.md §1.2).
type Connect struct {
	Pos
	// Action is requested when the session ends; nil when absent
	// (execution continues with the next verb).
	Action   *string
	Method   string // default POST
	Children []ConnectNoun
}

// NewConnect returns a Connect to the given session.
func NewConnect(children ...ConnectNoun) *Connect {
	return &Connect{Method: MethodPOST, Children: children}
}

func (*Connect) Tag() string       { return "Connect" }
func (*Connect) isVerb()           {}
func (e *Connect) write(w *writer) { writeParent(w, "Connect", e, connectFields, e.Children) }

var connectFields = []field[Connect]{
	optField("action", func(e *Connect) **string { return &e.Action }),
	// No documented code; 13210 (Dial: invalid method) is the nearest.
	methodField("method", CodeDialMethod, func(e *Connect) *string { return &e.Method }),
}

// connectNouns are Connect's children other than Stream, known by name from
// the helper libraries (twilio-voice.md §1.1) and kept as Elements.
var connectNouns = []string{"Room", "ConversationRelay", "VirtualAgent", "Conversation", "Autopilot",
	"AiSession", "Assistant", "ConversationRelaySession"}

func (p *parser) connect(se xml.StartElement, line int) (*Connect, error) {
	e := NewConnect()
	e.Line = line
	applyAttrs(p, e, "Connect", line, se.Attr, connectFields)
	stray := false
	for {
		c, cl, ok, err := p.child(se.Name, nil, &stray)
		if err != nil {
			return nil, err
		}
		if !ok {
			return e, nil
		}
		var n ConnectNoun
		if c.Name.Space == "" {
			if c.Name.Local == "Stream" {
				var s *Stream
				if s, err = p.stream(c, cl, "Connect"); s != nil {
					n = s
				}
			} else {
				for _, k := range connectNouns {
					if c.Name.Local == k {
						n, err = p.genericNoun(c, cl)
						break
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
		if n == nil {
			if err := p.unknown(CodeSchema, c, cl, "inside <Connect>"); err != nil {
				return nil, err
			}
			continue
		}
		e.Children = append(e.Children, n)
	}
}
