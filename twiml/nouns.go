package twiml

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"time"
)

// CallStatusCallback holds the per-target status callback attributes of
// <Number>, <Client>, <Sip> and <Application> (twilio-voice.md §2.3, §2.4).
type CallStatusCallback struct {
	StatusCallback       string
	StatusCallbackMethod string     // default POST
	StatusCallbackEvent  CallEvents // default CallCompleted
}

func defaultCallStatusCallback() CallStatusCallback {
	return CallStatusCallback{StatusCallbackMethod: MethodPOST, StatusCallbackEvent: CallCompleted}
}

// callbackFields are the CallStatusCallback attributes of element T; code is
// the element's method code.
func callbackFields[T any](code int, f func(*T) *CallStatusCallback) []field[T] {
	return []field[T]{
		strField("statusCallback", func(e *T) *string { return &f(e).StatusCallback }),
		methodField("statusCallbackMethod", code, func(e *T) *string { return &f(e).StatusCallbackMethod }),
		// No code of its own; 12200 (schema: bad value).
		setField("statusCallbackEvent", CodeSchema, CallCompleted, callEventNames, func(e *T) *CallEvents { return &f(e).StatusCallbackEvent }),
	}
}

// MachineDetection is the machineDetection attribute of <Number> and <Sip>.
type MachineDetection string

const (
	MachineDetectionEnable           MachineDetection = "Enable"
	MachineDetectionDetectMessageEnd MachineDetection = "DetectMessageEnd"
)

// AMD holds the answering-machine-detection attributes of <Number> and <Sip>
// (twilio-voice.md §2.4). MachineDetection is empty when detection is off.
type AMD struct {
	MachineDetection                   MachineDetection
	MachineDetectionTimeout            time.Duration // 3–60 s, default 30 s
	MachineDetectionSpeechThreshold    time.Duration // 1000–6000 ms, default 2400 ms
	MachineDetectionSpeechEndThreshold time.Duration // 500–5000 ms, default 1200 ms
	MachineDetectionSilenceTimeout     time.Duration // 2000–10000 ms, default 5000 ms
	AmdStatusCallback                  string
	AmdStatusCallbackMethod            string // default POST
}

func defaultAMD() AMD {
	return AMD{
		MachineDetectionTimeout:            30 * time.Second,
		MachineDetectionSpeechThreshold:    2400 * time.Millisecond,
		MachineDetectionSpeechEndThreshold: 1200 * time.Millisecond,
		MachineDetectionSilenceTimeout:     5000 * time.Millisecond,
		AmdStatusCallbackMethod:            MethodPOST,
	}
}

// amdFields are the AMD attributes of element T. They have no documented
// codes; 12200 (schema: bad value), and code for the method.
func amdFields[T any](code int, f func(*T) *AMD) []field[T] {
	ms := time.Millisecond
	return []field[T]{
		enumField("machineDetection", CodeSchema, "", []MachineDetection{MachineDetectionEnable, MachineDetectionDetectMessageEnd}, nil,
			func(e *T) *MachineDetection { return &f(e).MachineDetection }),
		secField("machineDetectionTimeout", CodeSchema, 30*time.Second, 3, 60, func(e *T) *time.Duration { return &f(e).MachineDetectionTimeout }),
		durField("machineDetectionSpeechThreshold", CodeSchema, ms, 2400*ms, 1000, 6000, func(e *T) *time.Duration { return &f(e).MachineDetectionSpeechThreshold }),
		durField("machineDetectionSpeechEndThreshold", CodeSchema, ms, 1200*ms, 500, 5000, func(e *T) *time.Duration { return &f(e).MachineDetectionSpeechEndThreshold }),
		durField("machineDetectionSilenceTimeout", CodeSchema, ms, 5000*ms, 2000, 10000, func(e *T) *time.Duration { return &f(e).MachineDetectionSilenceTimeout }),
		strField("amdStatusCallback", func(e *T) *string { return &f(e).AmdStatusCallback }),
		methodField("amdStatusCallbackMethod", code, func(e *T) *string { return &f(e).AmdStatusCallbackMethod }),
	}
}

func concat[T any](parts ...[]field[T]) []field[T] {
	var out []field[T]
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Number is <Number>: a phone number to dial (twilio-voice.md §2.4).
type Number struct {
	Pos
	Number     string // the text, trimmed, as written (E.164 or a national form)
	SendDigits string // DTMF to send after answer: 0-9 A-D # * w W
	URL        string // screening document run on the called leg before the bridge
	Method     string // default POST
	Byoc       string // BYOC trunk SID
	CallStatusCallback
	AMD
}

// NewNumber returns a Number with Twilio's defaults.
func NewNumber(number string) *Number {
	return &Number{Number: number, Method: MethodPOST, CallStatusCallback: defaultCallStatusCallback(), AMD: defaultAMD()}
}

func (*Number) Tag() string       { return "Number" }
func (*Number) isDialNoun()       {}
func (e *Number) write(w *writer) { writeLeaf(w, "Number", e, numberFields, e.Number) }

var numberFields = concat(
	[]field[Number]{
		charsField("sendDigits", CodeNumberSendDigits, dtmfChars, "", true, 0, func(e *Number) *string { return &e.SendDigits }),
		strField("url", func(e *Number) *string { return &e.URL }),
		methodField("method", CodeNumberMethod, func(e *Number) *string { return &e.Method }),
		strField("byoc", func(e *Number) *string { return &e.Byoc }),
	},
	callbackFields(CodeNumberMethod, func(e *Number) *CallStatusCallback { return &e.CallStatusCallback }),
	amdFields(CodeNumberMethod, func(e *Number) *AMD { return &e.AMD }),
)

func (p *parser) number(se xml.StartElement, line int) (*Number, error) {
	e := NewNumber("")
	e.Line = line
	applyAttrs(p, e, "Number", line, se.Attr, numberFields)
	n, err := p.textOnly(se)
	if err != nil {
		return nil, err
	}
	e.Number = n
	if !validPhoneNumber(n) {
		p.warn(CodePhoneNumberFormat, line, fmt.Sprintf("<Number> %q is not a phone number", clip(n)))
	}
	return e, nil
}

// Client is <Client>: a registered client identity (twilio-voice.md §2.5);
// for tandem, a registered SIP user.
type Client struct {
	Pos
	// Identity is the text or the <Identity> child (≤ 256 characters).
	Identity        string
	URL             string
	Method          string // default POST
	NotificationURL string // clientNotificationUrl (Twilio docs only)
	CallStatusCallback
	Parameters []Parameter // customParameters for the client
}

// NewClient returns a Client with Twilio's defaults.
func NewClient(identity string) *Client {
	return &Client{Identity: identity, Method: MethodPOST, CallStatusCallback: defaultCallStatusCallback()}
}

func (*Client) Tag() string { return "Client" }
func (*Client) isDialNoun() {}
func (e *Client) write(w *writer) {
	w.start("Client")
	writeAttrs(w, e, clientFields)
	switch {
	case len(e.Parameters) == 0 && e.Identity == "":
		w.selfClose()
		return
	case len(e.Parameters) == 0:
		w.closeStart()
		w.text(e.Identity)
	default:
		// With parameters the identity goes in <Identity> (Twilio's form).
		w.closeStart()
		if e.Identity != "" {
			w.textElement("Identity", e.Identity)
		}
		w.params(e.Parameters)
	}
	w.end("Client")
}

var clientFields = concat(
	[]field[Client]{
		strField("url", func(e *Client) *string { return &e.URL }),
		methodField("method", CodeNumberMethod, func(e *Client) *string { return &e.Method }),
		strField("clientNotificationUrl", func(e *Client) *string { return &e.NotificationURL }),
	},
	callbackFields(CodeNumberMethod, func(e *Client) *CallStatusCallback { return &e.CallStatusCallback }),
)

func (p *parser) client(se xml.StartElement, line int) (*Client, error) {
	e := NewClient("")
	e.Line = line
	applyAttrs(p, e, "Client", line, se.Attr, clientFields)
	var err error
	if e.Identity, e.Parameters, err = p.targetAndParams(se, line, "Identity"); err != nil {
		return nil, err
	}
	switch {
	case e.Identity == "":
		// A noun without a target: 13215 (Dial: invalid nested element).
		p.warn(CodeDialNested, line, "<Client> has no identity")
	case len([]rune(e.Identity)) > 256:
		p.warn(CodeDialNested, line, "<Client> identity is longer than 256 characters")
	}
	return e, nil
}

// Sip is <Sip>: a SIP URI to dial (twilio-voice.md §2.6). X- headers and
// User-to-User may follow '?' in the URI; they stay in URI as written.
type Sip struct {
	Pos
	URI      string // the text, trimmed; the sip: prefix is optional
	Username string // digest credentials for the far end
	Password string
	URL      string // screening document, as for Number
	Method   string // default POST
	CallStatusCallback
	AMD
	URIs    []SipURI    // <Uri> children, tried by priority then weight
	Headers []SipHeader // <Headers><Header name value/></Headers>
}

// SipURI is a <Uri> child of <Sip> (helper libraries only). Priority and
// Weight are 0 when absent.
type SipURI struct {
	Pos
	URI      string
	Priority int
	Weight   int
	Username string
	Password string
}

// SipHeader is a <Header name value/> inside <Sip><Headers>.
type SipHeader struct {
	Pos
	Name  string
	Value string
}

// Twilio's limits on a <Sip> target (twilio-voice.md §2.6, §6).
const (
	maxSipURI     = 255
	maxSipHeaders = 1024
)

// NewSip returns a Sip with Twilio's defaults.
func NewSip(uri string) *Sip {
	return &Sip{URI: uri, Method: MethodPOST, CallStatusCallback: defaultCallStatusCallback(), AMD: defaultAMD()}
}

func (*Sip) Tag() string { return "Sip" }
func (*Sip) isDialNoun() {}
func (e *Sip) write(w *writer) {
	w.start("Sip")
	writeAttrs(w, e, sipFields)
	if e.URI == "" && len(e.URIs) == 0 && len(e.Headers) == 0 {
		w.selfClose()
		return
	}
	w.closeStart()
	w.text(e.URI)
	for i := range e.URIs {
		u := &e.URIs[i]
		w.start("Uri")
		writeAttrs(w, u, sipURIFields)
		w.closeStart()
		w.text(u.URI)
		w.end("Uri")
	}
	if len(e.Headers) > 0 {
		w.start("Headers")
		w.closeStart()
		for i := range e.Headers {
			w.start("Header")
			writeAttrs(w, &e.Headers[i], sipHeaderFields)
			w.selfClose()
		}
		w.end("Headers")
	}
	w.end("Sip")
}

var sipFields = concat(
	[]field[Sip]{
		strField("username", func(e *Sip) *string { return &e.Username }),
		strField("password", func(e *Sip) *string { return &e.Password }),
		strField("url", func(e *Sip) *string { return &e.URL }),
		// Sip's method has no code of its own; 13221 (Number: invalid
		// method) is the nearest.
		methodField("method", CodeNumberMethod, func(e *Sip) *string { return &e.Method }),
	},
	callbackFields(CodeNumberMethod, func(e *Sip) *CallStatusCallback { return &e.CallStatusCallback }),
	amdFields(CodeNumberMethod, func(e *Sip) *AMD { return &e.AMD }),
)

var sipURIFields = []field[SipURI]{
	intField("priority", CodeSchema, 0, 0, maxInt, func(e *SipURI) *int { return &e.Priority }),
	intField("weight", CodeSchema, 0, 0, maxInt, func(e *SipURI) *int { return &e.Weight }),
	strField("username", func(e *SipURI) *string { return &e.Username }),
	strField("password", func(e *SipURI) *string { return &e.Password }),
}

var sipHeaderFields = []field[SipHeader]{
	strField("name", func(e *SipHeader) *string { return &e.Name }),
	strField("value", func(e *SipHeader) *string { return &e.Value }),
}

func (p *parser) sip(se xml.StartElement, line int) (*Sip, error) {
	e := NewSip("")
	e.Line = line
	applyAttrs(p, e, "Sip", line, se.Attr, sipFields)
	var text []byte
	for {
		c, cl, ok, err := p.child(se.Name, &text, nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch {
		case c.Name.Space == "" && c.Name.Local == "Uri":
			u := SipURI{Pos: Pos{cl}}
			applyAttrs(p, &u, "Uri", cl, c.Attr, sipURIFields)
			if u.URI, err = p.textOnly(c); err != nil {
				return nil, err
			}
			e.URIs = append(e.URIs, u)
		case c.Name.Space == "" && c.Name.Local == "Headers":
			if err := p.sipHeaders(e, c, cl); err != nil {
				return nil, err
			}
		default:
			if err := p.unknown(CodeDialNested, c, cl, "inside <Sip> (only Uri and Headers)"); err != nil {
				return nil, err
			}
		}
	}
	e.URI = trimText(text)
	if e.URI == "" && len(e.URIs) == 0 {
		// A noun without a target: 13215 (Dial: invalid nested element).
		p.warn(CodeDialNested, line, "<Sip> has no URI")
	}
	if len(e.URI) >= maxSipURI {
		p.warn(CodeSchema, line, fmt.Sprintf("<Sip> URI is %d characters; Twilio's limit is %d", len(e.URI), maxSipURI-1))
	}
	n := 0
	for _, h := range e.Headers {
		n += len(h.Name) + len(h.Value) + 1
	}
	if n >= maxSipHeaders {
		p.warn(CodeSchema, line, fmt.Sprintf("<Sip> headers are %d characters; Twilio's limit is %d", n, maxSipHeaders-1))
	}
	return e, nil
}

func (p *parser) sipHeaders(e *Sip, se xml.StartElement, line int) error {
	applyAttrs[Sip](p, nil, "Headers", line, se.Attr, nil)
	stray := false
	for {
		c, cl, ok, err := p.child(se.Name, nil, &stray)
		if err != nil || !ok {
			return err
		}
		if c.Name.Space != "" || c.Name.Local != "Header" {
			if err := p.unknown(CodeSchema, c, cl, "inside <Headers> (only Header)"); err != nil {
				return err
			}
			continue
		}
		h := SipHeader{Pos: Pos{cl}}
		applyAttrs(p, &h, "Header", cl, c.Attr, sipHeaderFields)
		if err := p.noChildren(c, nil); err != nil {
			return err
		}
		if h.Name == "" {
			p.warn(CodeSchema, cl, "<Header> has no name")
		}
		e.Headers = append(e.Headers, h)
	}
}

// Conference is <Conference>: join a named conference room
// (twilio-voice.md §1.5).
type Conference struct {
	Pos
	Name                   string // the text: 1–128 characters, scoped to the account
	Muted                  bool
	Beep                   ConferenceBeep // default BeepTrue
	StartConferenceOnEnter bool           // default true
	EndConferenceOnExit    bool
	ParticipantLabel       string           // ≤ 128 characters, unique in the room
	JitterBufferSize       JitterBufferSize // default JitterLarge
	// WaitURL is the hold music document; nil when absent (Twilio's
	// default playlist), "" for silence.
	WaitURL                       *string
	WaitMethod                    string           // default POST
	MaxParticipants               int              // 2–250, default 250
	Record                        ConferenceRecord // default ConferenceDoNotRecord
	Region                        string           // us1 ie1 de1 sg1 br1 au1 jp1; empty = nearest
	Trim                          Trim             // default TrimSilence; true/false are aliases
	Coach                         string           // a call SID
	StatusCallback                string
	StatusCallbackMethod          string           // default POST
	StatusCallbackEvent           ConferenceEvents // default none
	RecordingStatusCallback       string
	RecordingStatusCallbackMethod string          // default POST
	RecordingStatusCallbackEvent  RecordingEvents // default RecordingCompleted
	EventCallbackURL              string
	RecordingConfigurationID      string
}

// ConferenceBeep is the beep attribute of <Conference>.
type ConferenceBeep string

const (
	BeepTrue    ConferenceBeep = "true"
	BeepFalse   ConferenceBeep = "false"
	BeepOnEnter ConferenceBeep = "onEnter"
	BeepOnExit  ConferenceBeep = "onExit"
)

// JitterBufferSize is the jitterBufferSize attribute of <Conference>.
type JitterBufferSize string

const (
	JitterSmall  JitterBufferSize = "small"  // 20 ms
	JitterMedium JitterBufferSize = "medium" // 40 ms
	JitterLarge  JitterBufferSize = "large"  // 60 ms
	JitterOff    JitterBufferSize = "off"
)

// ConferenceRecord is the record attribute of <Conference>.
type ConferenceRecord string

const (
	ConferenceDoNotRecord     ConferenceRecord = "do-not-record"
	ConferenceRecordFromStart ConferenceRecord = "record-from-start"
)

// conferenceRegions are the values of Conference's region.
var conferenceRegions = []string{"us1", "ie1", "de1", "sg1", "br1", "au1", "jp1"}

// NewConference returns a Conference with Twilio's defaults.
func NewConference(name string) *Conference {
	return &Conference{
		Name:                          name,
		Beep:                          BeepTrue,
		StartConferenceOnEnter:        true,
		JitterBufferSize:              JitterLarge,
		WaitMethod:                    MethodPOST,
		MaxParticipants:               250,
		Record:                        ConferenceDoNotRecord,
		Trim:                          TrimSilence,
		StatusCallbackMethod:          MethodPOST,
		RecordingStatusCallbackMethod: MethodPOST,
		RecordingStatusCallbackEvent:  RecordingCompleted,
	}
}

func (*Conference) Tag() string       { return "Conference" }
func (*Conference) isDialNoun()       {}
func (e *Conference) write(w *writer) { writeLeaf(w, "Conference", e, conferenceFields, e.Name) }

var conferenceFields = []field[Conference]{
	boolField("muted", CodeConferenceMuted, false, func(e *Conference) *bool { return &e.Muted }),
	enumField("beep", CodeConferenceBeep, BeepTrue, []ConferenceBeep{BeepTrue, BeepFalse, BeepOnEnter, BeepOnExit}, nil,
		func(e *Conference) *ConferenceBeep { return &e.Beep }),
	boolField("startConferenceOnEnter", CodeConferenceStartOnEnter, true, func(e *Conference) *bool { return &e.StartConferenceOnEnter }),
	boolField("endConferenceOnExit", CodeConferenceEndOnExit, false, func(e *Conference) *bool { return &e.EndConferenceOnExit }),
	maxLenField("participantLabel", CodeSchema, 128, func(e *Conference) *string { return &e.ParticipantLabel }),
	// The attributes below without a 1323x code of their own use 12200.
	enumField("jitterBufferSize", CodeSchema, JitterLarge, []JitterBufferSize{JitterSmall, JitterMedium, JitterLarge, JitterOff}, nil,
		func(e *Conference) *JitterBufferSize { return &e.JitterBufferSize }),
	{"waitUrl",
		func(p *parser, e *Conference, v string, line int) {
			// 13233: "waitUrl must be either a well formed URL or the empty string".
			if _, err := url.Parse(v); err != nil {
				p.invalid(CodeConferenceWaitURL, line, "waitUrl", v, "must be a URL or empty")
				return
			}
			e.WaitURL = &v
		},
		func(e *Conference) (string, bool) {
			if e.WaitURL == nil {
				return "", false
			}
			return *e.WaitURL, true
		}},
	methodField("waitMethod", CodeConferenceWaitMethod, func(e *Conference) *string { return &e.WaitMethod }),
	intField("maxParticipants", CodeSchema, 250, 2, 250, func(e *Conference) *int { return &e.MaxParticipants }),
	enumField("record", CodeSchema, ConferenceDoNotRecord, []ConferenceRecord{ConferenceDoNotRecord, ConferenceRecordFromStart}, nil,
		func(e *Conference) *ConferenceRecord { return &e.Record }),
	enumField("region", CodeSchema, "", conferenceRegions, nil, func(e *Conference) *string { return &e.Region }),
	// trim: 13239 accepts trim-silence, do-not-trim, true and false.
	enumField("trim", CodeConferenceTrim, TrimSilence, trims, map[string]Trim{"true": TrimSilence, "false": DoNotTrim},
		func(e *Conference) *Trim { return &e.Trim }),
	strField("coach", func(e *Conference) *string { return &e.Coach }),
	strField("statusCallback", func(e *Conference) *string { return &e.StatusCallback }),
	methodField("statusCallbackMethod", CodeConferenceWaitMethod, func(e *Conference) *string { return &e.StatusCallbackMethod }),
	setField("statusCallbackEvent", CodeSchema, 0, conferenceEventNames, func(e *Conference) *ConferenceEvents { return &e.StatusCallbackEvent }),
	strField("recordingStatusCallback", func(e *Conference) *string { return &e.RecordingStatusCallback }),
	methodField("recordingStatusCallbackMethod", CodeConferenceWaitMethod, func(e *Conference) *string { return &e.RecordingStatusCallbackMethod }),
	setField("recordingStatusCallbackEvent", CodeRecordingStatusEvent, RecordingCompleted, recordingEventNames,
		func(e *Conference) *RecordingEvents { return &e.RecordingStatusCallbackEvent }),
	strField("eventCallbackUrl", func(e *Conference) *string { return &e.EventCallbackURL }),
	strField("recordingConfigurationId", func(e *Conference) *string { return &e.RecordingConfigurationID }),
}

func (p *parser) conference(se xml.StartElement, line int) (*Conference, error) {
	e := NewConference("")
	e.Line = line
	applyAttrs(p, e, "Conference", line, se.Attr, conferenceFields)
	name, err := p.textOnly(se)
	if err != nil {
		return nil, err
	}
	e.Name = name
	if n := len([]rune(name)); n < 1 || n > 128 {
		p.warn(CodeConferenceName, line, fmt.Sprintf("<Conference> name must be 1–128 characters (got %d)", n))
	}
	return e, nil
}

// Queue is <Queue> inside <Dial>: bridge to the call at the head of a queue
// (twilio-voice.md §1.5).
type Queue struct {
	Pos
	Name                string // the text
	URL                 string // document played to the dequeued caller before the bridge
	Method              string // default POST
	ReservationSid      string
	PostWorkActivitySid string
}

// NewQueue returns a Queue with Twilio's defaults.
func NewQueue(name string) *Queue { return &Queue{Name: name, Method: MethodPOST} }

func (*Queue) Tag() string       { return "Queue" }
func (*Queue) isDialNoun()       {}
func (e *Queue) write(w *writer) { writeLeaf(w, "Queue", e, queueFields, e.Name) }

var queueFields = []field[Queue]{
	strField("url", func(e *Queue) *string { return &e.URL }),
	methodField("method", CodeNumberMethod, func(e *Queue) *string { return &e.Method }),
	strField("reservationSid", func(e *Queue) *string { return &e.ReservationSid }),
	strField("postWorkActivitySid", func(e *Queue) *string { return &e.PostWorkActivitySid }),
}

func (p *parser) queue(se xml.StartElement, line int) (*Queue, error) {
	e := NewQueue("")
	e.Line = line
	applyAttrs(p, e, "Queue", line, se.Attr, queueFields)
	name, err := p.textOnly(se)
	if err != nil {
		return nil, err
	}
	e.Name = name
	if name == "" {
		p.warn(CodeDialNested, line, "<Queue> has no name")
	}
	return e, nil
}

// Application is <Application>: hand the call to another application on the
// same leg (twilio-voice.md §2.7).
type Application struct {
	Pos
	SID    string // <ApplicationSid> (or the text)
	URL    string
	Method string // default POST
	CallStatusCallback
	CustomerID   string      // ≤ 256 characters; empty = the dialing account's SID
	CopyParentTo bool        // use the parent call's To as the target's To
	Parameters   []Parameter // sent to the target's VoiceUrl as Param_<name>
}

// NewApplication returns an Application with Twilio's defaults.
func NewApplication(sid string) *Application {
	return &Application{SID: sid, Method: MethodPOST, CallStatusCallback: defaultCallStatusCallback()}
}

func (*Application) Tag() string { return "Application" }
func (*Application) isDialNoun() {}
func (e *Application) write(w *writer) {
	w.start("Application")
	writeAttrs(w, e, applicationFields)
	if e.SID == "" && len(e.Parameters) == 0 {
		w.selfClose()
		return
	}
	w.closeStart()
	if e.SID != "" {
		w.textElement("ApplicationSid", e.SID)
	}
	w.params(e.Parameters)
	w.end("Application")
}

var applicationFields = concat(
	[]field[Application]{
		strField("url", func(e *Application) *string { return &e.URL }),
		methodField("method", CodeNumberMethod, func(e *Application) *string { return &e.Method }),
		maxLenField("customerId", CodeSchema, 256, func(e *Application) *string { return &e.CustomerID }),
		boolField("copyParentTo", CodeSchema, false, func(e *Application) *bool { return &e.CopyParentTo }),
	},
	callbackFields(CodeNumberMethod, func(e *Application) *CallStatusCallback { return &e.CallStatusCallback }),
)

func (p *parser) application(se xml.StartElement, line int) (*Application, error) {
	e := NewApplication("")
	e.Line = line
	applyAttrs(p, e, "Application", line, se.Attr, applicationFields)
	// The SID is the <ApplicationSid> child or, in the Python helper's form,
	// the text.
	var err error
	if e.SID, e.Parameters, err = p.targetAndParams(se, line, "ApplicationSid"); err != nil {
		return nil, err
	}
	if e.SID == "" {
		// The target is required (§2.7): 13215 (Dial: invalid nested element).
		p.warn(CodeDialNested, line, "<Application> has no ApplicationSid")
	}
	return e, nil
}

// targetAndParams reads the content of <Client> and <Application>: the
// target as text or as a child element (which wins, with a warning, when
// both are given), and <Parameter>s.
func (p *parser) targetAndParams(se xml.StartElement, line int, child string) (string, []Parameter, error) {
	var text []byte
	var params []Parameter
	target, haveChild := "", false
	for {
		c, cl, ok, err := p.child(se.Name, &text, nil)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			break
		}
		switch {
		case c.Name.Space == "" && c.Name.Local == child:
			if target, err = p.textOnly(c); err != nil {
				return "", nil, err
			}
			haveChild = true
		case c.Name.Space == "" && c.Name.Local == "Parameter":
			pr, err := p.parameter(c, cl)
			if err != nil {
				return "", nil, err
			}
			params = append(params, pr)
		default:
			where := fmt.Sprintf("inside <%s> (only %s and Parameter)", se.Name.Local, child)
			if err := p.unknown(CodeDialNested, c, cl, where); err != nil {
				return "", nil, err
			}
		}
	}
	t := trimText(text)
	if haveChild {
		if t != "" && t != target {
			p.warn(CodeDialNested, line, fmt.Sprintf("<%s> has both text and <%s>; the text is ignored", se.Name.Local, child))
		}
		t = target
	}
	return t, params, nil
}
