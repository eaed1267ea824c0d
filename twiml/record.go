package twiml

import (
	"encoding/xml"
	"net/url"
	"time"
)

// Record is <Record>: record the caller (twilio-voice.md §1.4). Its action is
// always requested, so verbs after it are unreachable.
type Record struct {
	Pos
	Action string // "" = the current document URL
	Method string // default POST
	// Timeout is the silence that ends the recording; 0 turns silence
	// detection off. Default 5 s.
	Timeout                       time.Duration
	FinishOnKey                   string        // keys from 0-9 # *; default "1234567890*#"
	MaxLength                     time.Duration // default 3600 s
	PlayBeep                      bool          // default true
	Trim                          Trim          // default TrimSilence
	RecordingStatusCallback       string
	RecordingStatusCallbackMethod string          // default POST
	RecordingStatusCallbackEvent  RecordingEvents // default RecordingCompleted
	Transcribe                    bool
	TranscribeCallback            string
	RecordingConfigurationID      string
}

// Trim is the trim attribute of <Record>, <Dial> and <Conference>.
type Trim string

const (
	TrimSilence Trim = "trim-silence"
	DoNotTrim   Trim = "do-not-trim"
)

// Record defaults (twilio-voice.md §1.4).
const (
	DefaultRecordTimeout     = 5 * time.Second
	DefaultRecordFinishOnKey = "1234567890*#"
	DefaultRecordMaxLength   = 3600 * time.Second
)

// NewRecord returns a Record with Twilio's defaults.
func NewRecord() *Record {
	return &Record{
		Method:                        MethodPOST,
		Timeout:                       DefaultRecordTimeout,
		FinishOnKey:                   DefaultRecordFinishOnKey,
		MaxLength:                     DefaultRecordMaxLength,
		PlayBeep:                      true,
		Trim:                          TrimSilence,
		RecordingStatusCallbackMethod: MethodPOST,
		RecordingStatusCallbackEvent:  RecordingCompleted,
	}
}

func (*Record) Tag() string       { return "Record" }
func (*Record) isVerb()           {}
func (e *Record) write(w *writer) { writeLeaf(w, "Record", e, recordFields, "") }

var trims = []Trim{TrimSilence, DoNotTrim}

var recordFields = []field[Record]{
	strField("action", func(e *Record) *string { return &e.Action }),
	methodField("method", CodeRecordMethod, func(e *Record) *string { return &e.Method }),
	secField("timeout", CodeRecordTimeout, DefaultRecordTimeout, 0, maxInt, func(e *Record) *time.Duration { return &e.Timeout }),
	charsField("finishOnKey", CodeRecordFinishOnKey, "0123456789#*", DefaultRecordFinishOnKey, true, 0, func(e *Record) *string { return &e.FinishOnKey }),
	// maxLength: 1 s up to the call maximum (86400 s with 24-hour calls).
	secField("maxLength", CodeRecordMaxLength, DefaultRecordMaxLength, 1, 86400, func(e *Record) *time.Duration { return &e.MaxLength }),
	boolField("playBeep", CodeRecordPlayBeep, true, func(e *Record) *bool { return &e.PlayBeep }),
	// trim has no Record code; 12200 (schema: bad value).
	enumField("trim", CodeSchema, TrimSilence, trims, nil, func(e *Record) *Trim { return &e.Trim }),
	strField("recordingStatusCallback", func(e *Record) *string { return &e.RecordingStatusCallback }),
	// recordingStatusCallbackMethod: Record's method code 13610 is nearest.
	methodField("recordingStatusCallbackMethod", CodeRecordMethod, func(e *Record) *string { return &e.RecordingStatusCallbackMethod }),
	setField("recordingStatusCallbackEvent", CodeRecordingStatusEvent, RecordingCompleted, recordingEventNames, func(e *Record) *RecordingEvents { return &e.RecordingStatusCallbackEvent }),
	boolField("transcribe", CodeRecordTranscribe, false, func(e *Record) *bool { return &e.Transcribe }),
	{"transcribeCallback",
		func(p *parser, e *Record, v string, line int) {
			// 13615: "transcribeCallback URL is invalid".
			if _, err := url.Parse(v); err != nil {
				p.invalid(CodeRecordTranscribeCallback, line, "transcribeCallback", v, "must be a URL")
				return
			}
			e.TranscribeCallback = v
		},
		func(e *Record) (string, bool) { return e.TranscribeCallback, e.TranscribeCallback != "" }},
	strField("recordingConfigurationId", func(e *Record) *string { return &e.RecordingConfigurationID }),
}

func (p *parser) record(se xml.StartElement, line int) (*Record, error) {
	e := NewRecord()
	e.Line = line
	applyAttrs(p, e, "Record", line, se.Attr, recordFields)
	return e, p.noChildren(se, nil)
}
