package twiml

import "strings"

// The space-separated attribute lists (statusCallbackEvent,
// recordingStatusCallbackEvent, Gather input) are sets: Parse accepts the
// names in any order, separated by spaces or commas, and Bytes writes them in
// the order of the constants below.

// CallEvents is the statusCallbackEvent set of <Number>, <Client>, <Sip> and
// <Application> (twilio-voice.md §2.4). The default is CallCompleted.
type CallEvents uint8

const (
	CallInitiated CallEvents = 1 << iota
	CallRinging
	CallAnswered
	CallCompleted
)

var callEventNames = []string{"initiated", "ringing", "answered", "completed"}

// Has reports whether every event of e is in s.
func (s CallEvents) Has(e CallEvents) bool { return e != 0 && s&e == e }
func (s CallEvents) String() string        { return setString(uint32(s), callEventNames) }

// ConferenceEvents is the statusCallbackEvent set of <Conference>
// (twilio-voice.md §1.5). The default is the empty set.
type ConferenceEvents uint16

const (
	ConferenceStart ConferenceEvents = 1 << iota
	ConferenceEnd
	ConferenceJoin
	ConferenceLeave
	ConferenceMute
	ConferenceHold
	ConferenceModify
	ConferenceSpeaker
	ConferenceAnnouncement
)

var conferenceEventNames = []string{"start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"}

// Has reports whether every event of e is in s.
func (s ConferenceEvents) Has(e ConferenceEvents) bool { return e != 0 && s&e == e }
func (s ConferenceEvents) String() string              { return setString(uint32(s), conferenceEventNames) }

// RecordingEvents is a recordingStatusCallbackEvent set (twilio-voice.md
// §1.4, §2.1). The default is RecordingCompleted.
type RecordingEvents uint8

const (
	RecordingInProgress RecordingEvents = 1 << iota
	RecordingCompleted
	RecordingAbsent
)

var recordingEventNames = []string{"in-progress", "completed", "absent"}

// Has reports whether every event of e is in s.
func (s RecordingEvents) Has(e RecordingEvents) bool { return e != 0 && s&e == e }
func (s RecordingEvents) String() string             { return setString(uint32(s), recordingEventNames) }

// GatherInput is the input attribute of <Gather> (twilio-voice.md §1.3). The
// default is InputDTMF; it is never empty.
type GatherInput uint8

const (
	InputDTMF GatherInput = 1 << iota
	InputSpeech
)

var gatherInputNames = []string{"dtmf", "speech"}

// Has reports whether every input of e is in s.
func (s GatherInput) Has(e GatherInput) bool { return e != 0 && s&e == e }
func (s GatherInput) String() string         { return setString(uint32(s), gatherInputNames) }

func setString(bits uint32, names []string) string {
	var b strings.Builder
	for i, n := range names {
		if bits&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// parseSet reads a list of names separated by spaces or commas. It returns
// the set of known names and the first unknown one, if any.
func parseSet(v string, names []string) (bits uint32, unknown string) {
	for _, tok := range strings.FieldsFunc(v, func(r rune) bool {
		return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '\r'
	}) {
		found := false
		for i, n := range names {
			if tok == n {
				bits |= 1 << i
				found = true
				break
			}
		}
		if !found && unknown == "" {
			unknown = tok
		}
	}
	return bits, unknown
}
