package twiml

// Pos is where an element starts in the parsed document. Elements built in Go
// have Line 0.
type Pos struct {
	Line int // 1-based line of the element's start tag
}

// SourceLine returns the line of the element's start tag (0 when built in Go).
func (p Pos) SourceLine() int { return p.Line }

// Node is any TwiML element this package models.
type Node interface {
	// Tag is the element's name in TwiML, e.g. "Dial".
	Tag() string
	// SourceLine is the line of the element's start tag, 0 when built in Go.
	SourceLine() int
	write(w *writer)
}

// Verb is a child of <Response>: *Say, *Play, *Pause, *Gather, *Record,
// *Redirect, *Hangup, *Reject, *Dial, *Refer, *Enqueue, *Leave, *Start, *Stop,
// *Connect, or *Element for the legacy verbs kept by name (Sms, Echo, Pay,
// Prompt, Queue).
type Verb interface {
	Node
	isVerb()
}

// DialNoun is a child of <Dial>: *Number, *Client, *Sip, *Conference, *Queue,
// *Application, or *Element for Sim and WhatsApp.
type DialNoun interface {
	Node
	isDialNoun()
}

// GatherChild is a child of <Gather>: *Say, *Play (without digits) or *Pause.
type GatherChild interface {
	Node
	isGatherChild()
}

// StartNoun is a child of <Start> or <Stop>: *Stream, or *Element for
// Siprec, Transcription and Recording.
type StartNoun interface {
	Node
	isStartNoun()
}

// ConnectNoun is a child of <Connect>: *Stream, or *Element for Room,
// ConversationRelay, VirtualAgent, Conversation, Autopilot, AiSession,
// Assistant and ConversationRelaySession.
type ConnectNoun interface {
	Node
	isConnectNoun()
}

// Parameter is <Parameter name value/>. Its meaning depends on the parent
// (twilio-voice.md §6): Param_<name> for <Application>, customParameters for
// <Client> and <Stream>, ReturnParam_<name> from <Hangup>/<Reject>.
type Parameter struct {
	Pos
	Name  string
	Value string
}

// Param returns a Parameter for building documents.
func Param(name, value string) Parameter { return Parameter{Name: name, Value: value} }

// Attr is one attribute of an Element, as written.
type Attr struct {
	Name  string // with its prefix, e.g. "xml:lang"
	Value string
}

// Element is an element this package knows by name but does not model: the
// legacy verbs (Sms, Echo, Pay, Prompt, top-level Queue), the Dial nouns Sim
// and WhatsApp, Start's Siprec, Transcription and Recording, and Connect's
// nouns other than Stream. It keeps the attributes in document order, the
// trimmed text, and the child elements.
type Element struct {
	Pos
	Name     string
	Attrs    []Attr
	Text     string
	Children []*Element
}

// Tag returns the element's name.
func (e *Element) Tag() string { return e.Name }

// Attr returns the value of the named attribute and whether it is present.
func (e *Element) Attr(name string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

func (*Element) isVerb()        {}
func (*Element) isDialNoun()    {}
func (*Element) isStartNoun()   {}
func (*Element) isConnectNoun() {}

// String returns a pointer to s, for the optional attributes whose absence
// means something (Dial action, Conference waitUrl, …).
func String(s string) *string { return &s }

// HTTP methods for the method attributes. Parse accepts them in any case and
// stores them in upper case.
const (
	MethodGET  = "GET"
	MethodPOST = "POST"
)
