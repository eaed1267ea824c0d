package twiml

import (
	"encoding/xml"
	"strconv"
	"strings"
	"time"
)

// Gather is <Gather>: collect DTMF or speech while its nested Say/Play/Pause
// run (twilio-voice.md §1.3).
type Gather struct {
	Pos
	Action        string      // "" = the current document URL
	Method        string      // default POST
	Input         GatherInput // default InputDTMF; never empty
	Timeout       time.Duration
	FinishOnKey   string // one of 0-9 # *, or "" for none; default "#"
	NumDigits     int    // 0 = no limit (the default)
	SpeechTimeout time.Duration
	// SpeechTimeoutAuto is speechTimeout="auto": end speech at the first
	// pause. SpeechTimeout is then unused (Parse sets it to Timeout).
	SpeechTimeoutAuto           bool
	MaxSpeechTime               time.Duration // helper libraries only; default 60 s (Twilio caps speech at 60 s)
	Language                    string        // default "en-US"
	Hints                       string        // comma-separated, as written
	ProfanityFilter             bool          // default true
	SpeechModel                 string        // default "default"
	PartialResultCallback       string
	PartialResultCallbackMethod string // default POST
	ActionOnEmptyResult         bool
	Enhanced                    bool // deprecated by Twilio
	BargeIn                     bool // helper libraries only; default true
	Debug                       bool // helper libraries only
	Children                    []GatherChild
}

// Gather defaults (twilio-voice.md §1.3).
const (
	DefaultGatherTimeout       = 5 * time.Second
	DefaultGatherFinishOnKey   = "#"
	DefaultGatherMaxSpeechTime = 60 * time.Second
)

// NewGather returns a Gather with Twilio's defaults and the given prompts.
func NewGather(children ...GatherChild) *Gather {
	return &Gather{
		Method:                      MethodPOST,
		Input:                       InputDTMF,
		Timeout:                     DefaultGatherTimeout,
		FinishOnKey:                 DefaultGatherFinishOnKey,
		SpeechTimeout:               DefaultGatherTimeout,
		MaxSpeechTime:               DefaultGatherMaxSpeechTime,
		Language:                    DefaultLanguage,
		ProfanityFilter:             true,
		SpeechModel:                 "default",
		PartialResultCallbackMethod: MethodPOST,
		BargeIn:                     true,
		Children:                    children,
	}
}

func (*Gather) Tag() string { return "Gather" }
func (*Gather) isVerb()     {}
func (e *Gather) write(w *writer) {
	w.start("Gather")
	writeAttrs(w, e, gatherFields)
	if len(e.Children) == 0 {
		w.selfClose()
		return
	}
	w.closeStart()
	for _, c := range e.Children {
		w.node(c)
	}
	w.end("Gather")
}

// speechTimeoutUnset marks an absent speechTimeout while attributes are read;
// its default is the timeout value (twilio-voice.md §1.3).
const speechTimeoutUnset = -1

var gatherFields = []field[Gather]{
	strField("action", func(e *Gather) *string { return &e.Action }),
	methodField("method", CodeGatherMethod, func(e *Gather) *string { return &e.Method }),
	{"input",
		func(p *parser, e *Gather, v string, line int) {
			bits, unknown := parseSet(v, gatherInputNames)
			if unknown != "" || bits == 0 {
				// No documented code for input; 12200 (schema: bad value).
				p.invalid(CodeSchema, line, "input", v, `must be "dtmf", "speech" or "dtmf speech"`)
				return
			}
			e.Input = GatherInput(bits)
		},
		func(e *Gather) (string, bool) { return e.Input.String(), e.Input != InputDTMF && e.Input != 0 }},
	secField("timeout", CodeGatherTimeout, DefaultGatherTimeout, 1, maxInt, func(e *Gather) *time.Duration { return &e.Timeout }),
	// finishOnKey: one key or none; 13310.
	charsField("finishOnKey", CodeGatherFinishOnKey, "0123456789#*", DefaultGatherFinishOnKey, true, 1, func(e *Gather) *string { return &e.FinishOnKey }),
	intField("numDigits", CodeGatherNumDigits, 0, 1, maxInt, func(e *Gather) *int { return &e.NumDigits }),
	{"speechTimeout",
		func(p *parser, e *Gather, v string, line int) {
			if strings.EqualFold(strings.TrimSpace(v), "auto") {
				e.SpeechTimeoutAuto = true
				return
			}
			n, ok := parseInt(v)
			if !ok || n < 1 {
				// No code of its own; 13313 (Gather: invalid timeout) is nearest.
				p.invalid(CodeGatherTimeout, line, "speechTimeout", v, `must be a positive integer number of seconds or "auto"`)
				return
			}
			e.SpeechTimeout = time.Duration(n) * time.Second
		},
		func(e *Gather) (string, bool) {
			if e.SpeechTimeoutAuto {
				return "auto", true
			}
			return strconv.FormatInt(int64(e.SpeechTimeout/time.Second), 10), e.SpeechTimeout != e.Timeout
		}},
	// maxSpeechTime: nearest code 13313 (a Gather time limit).
	secField("maxSpeechTime", CodeGatherTimeout, DefaultGatherMaxSpeechTime, 1, maxInt, func(e *Gather) *time.Duration { return &e.MaxSpeechTime }),
	defStrField("language", DefaultLanguage, func(e *Gather) *string { return &e.Language }),
	strField("hints", func(e *Gather) *string { return &e.Hints }),
	// The booleans below have no Gather code; 12200 (schema: bad value).
	boolField("profanityFilter", CodeSchema, true, func(e *Gather) *bool { return &e.ProfanityFilter }),
	defStrField("speechModel", "default", func(e *Gather) *string { return &e.SpeechModel }),
	strField("partialResultCallback", func(e *Gather) *string { return &e.PartialResultCallback }),
	methodField("partialResultCallbackMethod", CodeGatherMethod, func(e *Gather) *string { return &e.PartialResultCallbackMethod }),
	boolField("actionOnEmptyResult", CodeSchema, false, func(e *Gather) *bool { return &e.ActionOnEmptyResult }),
	boolField("enhanced", CodeSchema, false, func(e *Gather) *bool { return &e.Enhanced }),
	boolField("bargeIn", CodeSchema, true, func(e *Gather) *bool { return &e.BargeIn }),
	boolField("debug", CodeSchema, false, func(e *Gather) *bool { return &e.Debug }),
}

func (p *parser) gather(se xml.StartElement, line int) (*Gather, error) {
	g := NewGather()
	g.Line = line
	g.SpeechTimeout = speechTimeoutUnset
	applyAttrs(p, g, "Gather", line, se.Attr, gatherFields)
	if g.SpeechTimeout == speechTimeoutUnset {
		g.SpeechTimeout = g.Timeout
	}
	stray := false
	for {
		c, cl, ok, err := p.child(se.Name, nil, &stray)
		if err != nil {
			return nil, err
		}
		if !ok {
			return g, nil
		}
		var child GatherChild
		switch {
		case c.Name.Space != "":
		case c.Name.Local == "Say":
			child, err = nonNilGather(p.say(c, cl))
		case c.Name.Local == "Play":
			var pl *Play
			pl, err = p.play(c, cl)
			if err == nil && pl.Digits != "" {
				// A <Play digits> is not allowed inside <Gather> (§1.2).
				p.warn(CodeGatherNested, cl, "<Play digits> is not allowed inside <Gather>; skipped")
				continue
			}
			child = pl
		case c.Name.Local == "Pause":
			child, err = nonNilGather(p.pause(c, cl))
		}
		if err != nil {
			return nil, err
		}
		if child == nil {
			if err := p.unknown(CodeGatherNested, c, cl, "inside <Gather> (only Say, Play and Pause)"); err != nil {
				return nil, err
			}
			continue
		}
		g.Children = append(g.Children, child)
	}
}

func nonNilGather[T interface {
	*E
	GatherChild
}, E any](v T, err error) (GatherChild, error) {
	if err != nil || v == nil {
		return nil, err
	}
	return v, nil
}
