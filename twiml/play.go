package twiml

import (
	"encoding/xml"
	"time"
)

// Play is <Play>: an audio file, or DTMF tones with Digits
// (twilio-voice.md §1.2).
type Play struct {
	Pos
	URL string // the text: the media URL, may be relative
	// Loop is how many times to play; 0 repeats until the call ends (Twilio
	// stops after 1000). Default 1.
	Loop int
	// Digits are DTMF tones to send: 0-9 A-D # *, w = 0.5 s pause, W = 1 s.
	Digits string
}

// NewPlay returns a Play of url with Twilio's defaults.
func NewPlay(url string) *Play { return &Play{URL: url, Loop: 1} }

func (*Play) Tag() string       { return "Play" }
func (*Play) isVerb()           {}
func (*Play) isGatherChild()    {}
func (e *Play) write(w *writer) { writeLeaf(w, "Play", e, playFields, e.URL) }

var playFields = []field[Play]{
	// loop: integer ≥ 0; 13410 "Play: invalid loop".
	intField("loop", CodePlayLoop, 1, 0, maxInt, func(e *Play) *int { return &e.Loop }),
	// digits has no code of its own; 13410 is Play's only attribute code, so
	// it is the nearest.
	charsField("digits", CodePlayLoop, dtmfChars, "", true, 0, func(e *Play) *string { return &e.Digits }),
}

func (p *parser) play(se xml.StartElement, line int) (*Play, error) {
	e := NewPlay("")
	e.Line = line
	applyAttrs(p, e, "Play", line, se.Attr, playFields)
	url, err := p.textOnly(se)
	if err != nil {
		return nil, err
	}
	e.URL = url
	if e.URL == "" && e.Digits == "" {
		// No documented code for an empty Play; 12200 (schema: missing value).
		p.warn(CodeSchema, line, "<Play> has neither a URL nor digits")
	}
	return e, nil
}

// Pause is <Pause>: silence (twilio-voice.md §1.2). As the first verb of an
// inbound call it delays answering.
type Pause struct {
	Pos
	Length time.Duration // whole seconds ≥ 1; default 1 s
}

// NewPause returns a one-second Pause.
func NewPause() *Pause { return &Pause{Length: time.Second} }

func (*Pause) Tag() string       { return "Pause" }
func (*Pause) isVerb()           {}
func (*Pause) isGatherChild()    {}
func (e *Pause) write(w *writer) { writeLeaf(w, "Pause", e, pauseFields, "") }

var pauseFields = []field[Pause]{
	// length: positive integer seconds; 13910 "Pause: invalid length".
	secField("length", CodePauseLength, time.Second, 1, maxInt, func(e *Pause) *time.Duration { return &e.Length }),
}

func (p *parser) pause(se xml.StartElement, line int) (*Pause, error) {
	e := NewPause()
	e.Line = line
	applyAttrs(p, e, "Pause", line, se.Attr, pauseFields)
	return e, p.noChildren(se, nil)
}
