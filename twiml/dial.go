package twiml

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dial is <Dial>: connect the caller to other parties (twilio-voice.md §2).
type Dial struct {
	Pos
	// Action is requested when the dialed leg ends, and its document takes
	// over the call. nil when absent: execution continues with the next verb.
	// A present but empty action is the current document's URL.
	Action *string
	Method string // default POST
	// Timeout is how long to ring: 5–600 s, default 30 s. Twilio documents
	// the range; a value outside it is clamped to the nearest bound (with a
	// 13212 warning) rather than dropped, since the author's intent — ring
	// briefly, or long — is clear.
	Timeout   time.Duration
	TimeLimit time.Duration // longest bridged call; default 14400 s (4 h)
	// CallerID is the caller ID for the new legs; empty = the caller's.
	CallerID                      string
	AnswerOnBridge                bool
	HangupOnStar                  bool
	Record                        DialRecord // default DialDoNotRecord; true/false are aliases
	RecordingStatusCallback       string
	RecordingStatusCallbackMethod string          // default POST
	RecordingStatusCallbackEvent  RecordingEvents // default RecordingCompleted
	RecordingTrack                RecordingTrack  // default RecordingTrackBoth
	RecordingConfigurationID      string
	Trim                          Trim   // default DoNotTrim (per Twilio's Dial page)
	RingTone                      string // a country code (us, uk, de, …); empty = the carrier's
	Sequential                    bool   // dial targets one after another
	ReferURL                      string // where inbound REFERs on this bridge go; empty = refused
	ReferMethod                   string // default POST
	CallReason                    string // ≤ 50 characters (branded calling)
	Events                        string // helper libraries only; semantics unconfirmed
	Passports                     string // helper libraries only; semantics unconfirmed
	// Targets are the nouns to dial. A plain-text number (<Dial>+1555…</Dial>)
	// becomes one *Number. After Parse, Targets is either up to 10 of
	// Number/Client/Sip (and Sim/WhatsApp Elements), or exactly one
	// Conference, Queue or Application.
	Targets []DialNoun
}

// DialRecord is the record attribute of <Dial> (twilio-voice.md §2.1).
type DialRecord string

const (
	DialDoNotRecord           DialRecord = "do-not-record"
	DialRecordFromAnswer      DialRecord = "record-from-answer"
	DialRecordFromRinging     DialRecord = "record-from-ringing"
	DialRecordFromAnswerDual  DialRecord = "record-from-answer-dual"
	DialRecordFromRingingDual DialRecord = "record-from-ringing-dual"
)

const (
	maxDialTargets                 = 10 // §2.3
	minDialTimeout, maxDialTimeout = 5, 600
)

// RecordingTrack is the recordingTrack attribute of <Dial>.
type RecordingTrack string

const (
	RecordingTrackInbound  RecordingTrack = "inbound"
	RecordingTrackOutbound RecordingTrack = "outbound"
	RecordingTrackBoth     RecordingTrack = "both"
)

// Dial defaults (twilio-voice.md §2.1).
const (
	DefaultDialTimeout   = 30 * time.Second
	DefaultDialTimeLimit = 14400 * time.Second
)

// ringTones are the values of Dial's ringTone (twilio-voice.md §2.1).
var ringTones = []string{"at", "au", "bg", "br", "be", "ch", "cl", "cn", "cz", "de", "dk", "ee", "es", "fi", "fr",
	"gr", "hu", "il", "in", "it", "lt", "jp", "mx", "my", "nl", "no", "nz", "ph", "pl", "pt", "ru", "se", "sg", "th",
	"uk", "us", "us-old", "tw", "ve", "za"}

// NewDial returns a Dial of targets with Twilio's defaults.
func NewDial(targets ...DialNoun) *Dial {
	return &Dial{
		Method:                        MethodPOST,
		Timeout:                       DefaultDialTimeout,
		TimeLimit:                     DefaultDialTimeLimit,
		Record:                        DialDoNotRecord,
		RecordingStatusCallbackMethod: MethodPOST,
		RecordingStatusCallbackEvent:  RecordingCompleted,
		RecordingTrack:                RecordingTrackBoth,
		Trim:                          DoNotTrim,
		ReferMethod:                   MethodPOST,
		Targets:                       targets,
	}
}

func (*Dial) Tag() string { return "Dial" }
func (*Dial) isVerb()     {}
func (e *Dial) write(w *writer) {
	w.start("Dial")
	writeAttrs(w, e, dialFields)
	if len(e.Targets) == 0 {
		w.selfClose()
		return
	}
	w.closeStart()
	for _, t := range e.Targets {
		w.node(t)
	}
	w.end("Dial")
}

var dialFields = []field[Dial]{
	optField("action", func(e *Dial) **string { return &e.Action }),
	methodField("method", CodeDialMethod, func(e *Dial) *string { return &e.Method }),
	{"timeout",
		func(p *parser, e *Dial, v string, line int) {
			n, ok := parseInt(v)
			if !ok || n <= 0 {
				p.invalid(CodeDialTimeout, line, "timeout", v, "must be a positive integer number of seconds")
				return
			}
			if c := min(max(n, minDialTimeout), maxDialTimeout); c != n {
				p.warn(CodeDialTimeout, line, fmt.Sprintf("<Dial> timeout=%d is outside %d–%d seconds; using %d", n, minDialTimeout, maxDialTimeout, c))
				n = c
			}
			e.Timeout = time.Duration(n) * time.Second
		},
		func(e *Dial) (string, bool) {
			return strconv.FormatInt(int64(e.Timeout/time.Second), 10), e.Timeout != DefaultDialTimeout
		}},
	secField("timeLimit", CodeDialTimeLimit, DefaultDialTimeLimit, 1, maxInt, func(e *Dial) *time.Duration { return &e.TimeLimit }),
	{"callerId",
		func(p *parser, e *Dial, v string, line int) {
			if !validCallerID(v) {
				p.invalid(CodeDialCallerID, line, "callerId", v, "must be a phone number, client:<identity>, or letters, digits and +-_.:@ without spaces")
				return
			}
			e.CallerID = v
		},
		func(e *Dial) (string, bool) { return e.CallerID, e.CallerID != "" }},
	// answerOnBridge and sequential have no code; 13213 (Dial's boolean
	// hangupOnStar) is the nearest.
	boolField("answerOnBridge", CodeDialHangupOnStar, false, func(e *Dial) *bool { return &e.AnswerOnBridge }),
	boolField("hangupOnStar", CodeDialHangupOnStar, false, func(e *Dial) *bool { return &e.HangupOnStar }),
	enumField("record", CodeDialRecord, DialDoNotRecord,
		[]DialRecord{DialDoNotRecord, DialRecordFromAnswer, DialRecordFromRinging, DialRecordFromAnswerDual, DialRecordFromRingingDual},
		map[string]DialRecord{"true": DialRecordFromAnswer, "false": DialDoNotRecord},
		func(e *Dial) *DialRecord { return &e.Record }),
	strField("recordingStatusCallback", func(e *Dial) *string { return &e.RecordingStatusCallback }),
	methodField("recordingStatusCallbackMethod", CodeDialMethod, func(e *Dial) *string { return &e.RecordingStatusCallbackMethod }),
	setField("recordingStatusCallbackEvent", CodeRecordingStatusEvent, RecordingCompleted, recordingEventNames,
		func(e *Dial) *RecordingEvents { return &e.RecordingStatusCallbackEvent }),
	// recordingTrack and trim have no code; 13217 (Dial: invalid record) is
	// the nearest.
	enumField("recordingTrack", CodeDialRecord, RecordingTrackBoth,
		[]RecordingTrack{RecordingTrackInbound, RecordingTrackOutbound, RecordingTrackBoth}, nil,
		func(e *Dial) *RecordingTrack { return &e.RecordingTrack }),
	strField("recordingConfigurationId", func(e *Dial) *string { return &e.RecordingConfigurationID }),
	enumField("trim", CodeDialRecord, DoNotTrim, trims, nil, func(e *Dial) *Trim { return &e.Trim }),
	// 13220 "Dial: Invalid ringTone value" (Twilio's dictionary).
	enumField("ringTone", CodeDialRingTone, "", ringTones, nil, func(e *Dial) *string { return &e.RingTone }),
	boolField("sequential", CodeDialHangupOnStar, false, func(e *Dial) *bool { return &e.Sequential }),
	strField("referUrl", func(e *Dial) *string { return &e.ReferURL }),
	methodField("referMethod", CodeDialMethod, func(e *Dial) *string { return &e.ReferMethod }),
	maxLenField("callReason", CodeSchema, 50, func(e *Dial) *string { return &e.CallReason }),
	strField("events", func(e *Dial) *string { return &e.Events }),
	strField("passports", func(e *Dial) *string { return &e.Passports }),
}

// validCallerID accepts what Twilio documents for callerId (§2.1): an E.164
// number, client:<id>, or for <Sip> letters, digits and +-_. without white
// space; '@' and ':' are allowed for client: and SIP-style identities.
// Whether the number may be used is policy, checked by the switch.
func validCallerID(v string) bool {
	if v == "" || len(v) > 256 {
		return false
	}
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("+-_.:@", c):
		default:
			return false
		}
	}
	return true
}

func (p *parser) dial(se xml.StartElement, line int) (*Dial, error) {
	d := NewDial()
	d.Line = line
	applyAttrs(p, d, "Dial", line, se.Attr, dialFields)
	var text []byte
	for {
		c, cl, ok, err := p.child(se.Name, &text, nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		var n DialNoun
		if c.Name.Space == "" {
			switch c.Name.Local {
			case "Number":
				n, err = nonNilNoun(p.number(c, cl))
			case "Client":
				n, err = nonNilNoun(p.client(c, cl))
			case "Sip":
				n, err = nonNilNoun(p.sip(c, cl))
			case "Conference":
				n, err = nonNilNoun(p.conference(c, cl))
			case "Queue":
				n, err = nonNilNoun(p.queue(c, cl))
			case "Application":
				n, err = nonNilNoun(p.application(c, cl))
			case "Sim", "WhatsApp":
				// Twilio-only targets (helper libraries): known, kept as written.
				n, err = nonNilNoun(p.generic(c, cl, 1))
			}
		}
		if err != nil {
			return nil, err
		}
		if n == nil {
			if err := p.unknown(CodeDialNested, c, cl, "inside <Dial>"); err != nil {
				return nil, err
			}
			continue
		}
		d.Targets = append(d.Targets, n)
	}
	number := trimText(text)
	switch {
	case number != "" && len(d.Targets) > 0:
		// Plain text and nouns cannot be mixed (§2.1); the nouns win.
		p.warn(CodeDialNested, line, fmt.Sprintf("<Dial> mixes a text number %q with nouns; the text is ignored", clip(number)))
	case number != "":
		n := NewNumber(number)
		n.Line = line
		if !validPhoneNumber(number) {
			p.warn(CodePhoneNumberFormat, line, fmt.Sprintf("<Dial> number %q is not a phone number", clip(number)))
		}
		d.Targets = []DialNoun{n}
	case len(d.Targets) == 0:
		p.warn(CodePhoneNumberFormat, line, "<Dial> has nothing to dial")
	}
	d.Targets = p.checkTargets(d.Targets)
	return d, nil
}

// checkTargets enforces what may be dialed together (twilio-voice.md §2.1,
// §2.3, §2.7): a Conference, Queue or Application is dialed alone (the first
// one wins, and a Conference beside anything else is 13000); Number, Client
// and Sip (and Sim, WhatsApp) mix, up to 10.
func (p *parser) checkTargets(ts []DialNoun) []DialNoun {
	for _, t := range ts {
		switch t.(type) {
		case *Conference, *Queue, *Application:
			if len(ts) == 1 {
				return ts
			}
			code := CodeDialNested
			if _, ok := t.(*Conference); ok {
				code = CodeDialConferenceMixed
			}
			p.warn(code, t.SourceLine(), fmt.Sprintf("<%s> cannot be dialed together with other nouns; the others are ignored", t.Tag()))
			return []DialNoun{t}
		}
	}
	if len(ts) > maxDialTargets {
		p.warn(CodeDialNested, ts[maxDialTargets].SourceLine(), fmt.Sprintf("<Dial> has %d targets; only the first %d are dialed", len(ts), maxDialTargets))
		ts = ts[:maxDialTargets]
	}
	return ts
}

func nonNilNoun[T interface {
	*E
	DialNoun
}, E any](v T, err error) (DialNoun, error) {
	if err != nil || v == nil {
		return nil, err
	}
	return v, nil
}

// validPhoneNumber accepts E.164 (+ and up to 15 digits) and the unformatted
// national forms Twilio also takes, such as (415) 555-1212 (§2.4): digits
// with spaces, dots, dashes and parentheses, and '+' only first.
func validPhoneNumber(s string) bool {
	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digits >= 1 && digits <= 15
}
