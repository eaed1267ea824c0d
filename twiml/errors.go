package twiml

import "fmt"

// Twilio error and warning codes that Parse emits. The numbers and meanings
// are Twilio's (twilio-voice.md §8.3 and Twilio's error dictionary at
// https://www.twilio.com/docs/api/errors). Where a verb or attribute has no
// documented code, the field that checks it names the nearest code in a
// comment; CodeSchema (12200, "schema validation warning: unknown attribute
// or value") is the fallback.
const (
	CodeInvalidURL       = 11100 // Invalid URL format (transcribeCallback, Stream url)
	CodeDocumentTooLarge = 11750 // response body over 64 kB: fatal
	CodeParse            = 12100 // document parse failure: fatal
	CodeRootNotResponse  = 12102 // root element must be Response: fatal
	CodeSchema           = 12200 // unknown element, attribute or value: warning

	CodeDialConferenceMixed = 13000 // Conference noun mixed with other nouns
	CodeDialMethod          = 13210
	CodeDialTimeout         = 13212
	CodeDialHangupOnStar    = 13213
	CodeDialCallerID        = 13214
	CodeDialNested          = 13215 // invalid nested element (or a noun without a target)
	CodeDialTimeLimit       = 13216
	CodeDialRecord          = 13217
	CodeDialRingTone        = 13220
	CodeNumberMethod        = 13221
	CodeNumberSendDigits    = 13222
	CodePhoneNumberFormat   = 13223

	CodeConferenceMuted        = 13230
	CodeConferenceEndOnExit    = 13231
	CodeConferenceStartOnEnter = 13232
	CodeConferenceWaitURL      = 13233
	CodeConferenceWaitMethod   = 13234
	CodeConferenceBeep         = 13235
	CodeConferenceName         = 13237
	CodeConferenceTrim         = 13239

	CodeGatherFinishOnKey = 13310
	CodeGatherMethod      = 13312
	CodeGatherTimeout     = 13313
	CodeGatherNumDigits   = 13314
	CodeGatherNested      = 13320

	CodePlayLoop = 13410

	CodeSayLoop  = 13510
	CodeSayVoice = 13511
	CodeSayText  = 13520

	CodeRecordMethod             = 13610
	CodeRecordTimeout            = 13611
	CodeRecordMaxLength          = 13612
	CodeRecordFinishOnKey        = 13613
	CodeRecordTranscribe         = 13614
	CodeRecordTranscribeCallback = 13615
	CodeRecordPlayBeep           = 13616
	CodeRecordingStatusEvent     = 13621 // invalid recordingStatusCallbackEvent

	CodeRedirectMethod = 13710

	CodePauseLength = 13910
)

// MaxDocumentSize is the largest document Parse accepts: Twilio fails a
// response body over 64 kB with 11750 (twilio-voice.md §0). We read kB as
// 1024 bytes, so a body of exactly 65536 bytes is accepted.
const MaxDocumentSize = 64 << 10

// Error is a failure that stops a document from running: 11750, 12100 or
// 12102 from Parse, the first warning from ParseStrict, or a value Bytes
// cannot write. Line is the 1-based line of the offending token, or 0 when the
// problem is not tied to a line (a document too large, a value built in Go).
type Error struct {
	Code    int
	Line    int
	Message string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("twiml: error %d at line %d: %s", e.Code, e.Line, e.Message)
	}
	return fmt.Sprintf("twiml: error %d: %s", e.Code, e.Message)
}

// Warning is a problem Twilio logs and runs past: an unknown element or
// attribute (12200), or an invalid attribute value (the verb's 13xxx code),
// which Parse replaces with the attribute's default as Twilio does. Line is
// the line of the element that carries the problem.
type Warning struct {
	Code    int
	Line    int
	Message string
}

func (w Warning) String() string {
	return fmt.Sprintf("twiml: warning %d at line %d: %s", w.Code, w.Line, w.Message)
}

// Error lets a Warning travel as an error (errors.As with a Warning target).
func (w Warning) Error() string { return w.String() }
