package twiml

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Say is <Say>: text to speech (twilio-voice.md §1.2).
type Say struct {
	Pos
	// Voice is man, woman, alice, or a provider voice such as Polly.Joanna
	// or Google.en-US-Standard-C. Empty when the attribute is absent: the
	// account's default voice applies, which is man on Twilio. It is the one
	// default that depends on the account, so Parse leaves it empty.
	Voice    string
	Language string // default "en-US"
	// Loop is how many times to speak; 0 repeats until the call ends (Twilio
	// stops after 1000). Default 1.
	Loop int
	// Text is the text to speak, trimmed. When the Say has SSML, Text is the
	// SSML's character data (tags removed) and SSML holds the markup.
	Text string
	// SSML is the content of the Say exactly as written, when it contains
	// SSML elements (<break>, <prosody>, …); empty otherwise. When building a
	// document, a non-empty SSML is written instead of Text and must be a
	// well-formed XML fragment.
	SSML string
}

// Say voices that need no provider prefix.
const (
	VoiceMan   = "man"
	VoiceWoman = "woman"
	VoiceAlice = "alice"
)

// DefaultLanguage is the language of <Say> and <Gather> when none is given.
const DefaultLanguage = "en-US"

// NewSay returns a Say of text with Twilio's defaults.
func NewSay(text string) *Say { return &Say{Language: DefaultLanguage, Loop: 1, Text: text} }

func (*Say) Tag() string       { return "Say" }
func (*Say) isVerb()           {}
func (*Say) isGatherChild()    {}
func (s *Say) write(w *writer) { w.say(s) }

var sayFields = []field[Say]{
	{"voice",
		func(p *parser, e *Say, v string, line int) {
			if !validVoice(v) {
				p.invalid(CodeSayVoice, line, "voice", v, "must be man, woman, alice or Provider.Voice (Polly.*, Google.*)")
				return
			}
			e.Voice = v
		},
		func(e *Say) (string, bool) { return e.Voice, e.Voice != "" }},
	defStrField("language", DefaultLanguage, func(e *Say) *string { return &e.Language }),
	// loop: integer ≥ 0 (twilio-voice.md §1.2); 13510 "Say: invalid loop".
	intField("loop", CodeSayLoop, 1, 0, maxInt, func(e *Say) *int { return &e.Loop }),
}

func validVoice(v string) bool {
	switch v {
	case VoiceMan, VoiceWoman, VoiceAlice:
		return true
	}
	// Provider voices: Polly.Joanna, Polly.Joanna-Neural, Google.en-US-Neural2-A.
	prov, name, ok := strings.Cut(v, ".")
	if !ok || prov == "" || name == "" {
		return false
	}
	for _, c := range prov {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ssmlElements are the SSML tags Twilio supports inside <Say>
// (twilio-voice.md §1.1), plus Amazon Polly's own.
var ssmlElements = []string{"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w",
	"amazon:effect", "amazon:domain", "amazon:auto-breaths"}

// say reads <Say>. Its content is kept as written (the SSML goes to the TTS
// engine unchanged), and its character data becomes Text. Unknown SSML tags
// are 12200 warnings but stay in SSML: the TTS provider decides.
func (p *parser) say(se xml.StartElement, line int) (*Say, error) {
	s := NewSay("")
	s.Line = line
	applyAttrs(p, s, "Say", line, se.Attr, sayFields)
	start := p.d.InputOffset()
	var text []byte
	hasElem := false
	stack := p.names[:0]
	defer func() { p.names = stack[:0] }()
	for {
		parent := se.Name
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		tok, err := p.inner(parent)
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			hasElem = true
			name := qname(t.Name)
			known := false
			for _, k := range ssmlElements {
				if k == name {
					known = true
					break
				}
			}
			if !known {
				p.warn(CodeSchema, p.line, fmt.Sprintf("<Say> contains unknown SSML element <%s>; passed to the TTS engine as written", clip(name)))
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			if err := p.checkEnd(parent, t.Name); err != nil {
				return nil, err
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
				continue
			}
			if hasElem {
				s.SSML = string(p.doc[start:p.off])
			}
			s.Text = trimText(text)
			if s.Text == "" && s.SSML == "" {
				p.warn(CodeSayText, line, "<Say> has no text to speak")
			}
			return s, nil
		case xml.CharData:
			text = append(text, t...)
		}
	}
}
