package twiml

import (
	"reflect"
	"testing"
	"time"
)

// TestVerbDefaults parses each verb and noun with no attributes and checks
// every field against the defaults of twilio-voice.md §1–2, written out here
// rather than taken from the New functions.
func TestVerbDefaults(t *testing.T) {
	callbacks := CallStatusCallback{StatusCallbackMethod: "POST", StatusCallbackEvent: CallCompleted}
	amd := AMD{
		MachineDetectionTimeout:            30 * time.Second,
		MachineDetectionSpeechThreshold:    2400 * time.Millisecond,
		MachineDetectionSpeechEndThreshold: 1200 * time.Millisecond,
		MachineDetectionSilenceTimeout:     5 * time.Second,
		AmdStatusCallbackMethod:            "POST",
	}
	dial := func(targets ...DialNoun) *Dial {
		return &Dial{Pos: Pos{2}, Method: "POST", Timeout: 30 * time.Second, TimeLimit: 4 * time.Hour,
			Record: "do-not-record", RecordingStatusCallbackMethod: "POST", RecordingStatusCallbackEvent: RecordingCompleted,
			RecordingTrack: "both", Trim: "do-not-trim", ReferMethod: "POST", Targets: targets}
	}
	tests := []struct {
		name string
		doc  string
		want Verb
	}{
		{"Say", `<Say>Hello</Say>`, &Say{Pos: Pos{2}, Voice: "", Language: "en-US", Loop: 1, Text: "Hello"}},
		{"Play", `<Play>https://example.com/a.mp3</Play>`, &Play{Pos: Pos{2}, URL: "https://example.com/a.mp3", Loop: 1}},
		{"Pause", `<Pause/>`, &Pause{Pos: Pos{2}, Length: time.Second}},
		{"Gather", `<Gather/>`, &Gather{Pos: Pos{2}, Method: "POST", Input: InputDTMF, Timeout: 5 * time.Second,
			FinishOnKey: "#", SpeechTimeout: 5 * time.Second, MaxSpeechTime: 60 * time.Second, Language: "en-US",
			ProfanityFilter: true, SpeechModel: "default", PartialResultCallbackMethod: "POST", BargeIn: true}},
		{"Gather speechTimeout follows timeout", `<Gather timeout="9"/>`, &Gather{Pos: Pos{2}, Method: "POST", Input: InputDTMF,
			Timeout: 9 * time.Second, FinishOnKey: "#", SpeechTimeout: 9 * time.Second, MaxSpeechTime: 60 * time.Second,
			Language: "en-US", ProfanityFilter: true, SpeechModel: "default", PartialResultCallbackMethod: "POST", BargeIn: true}},
		{"Record", `<Record/>`, &Record{Pos: Pos{2}, Method: "POST", Timeout: 5 * time.Second, FinishOnKey: "1234567890*#",
			MaxLength: 3600 * time.Second, PlayBeep: true, Trim: "trim-silence", RecordingStatusCallbackMethod: "POST",
			RecordingStatusCallbackEvent: RecordingCompleted}},
		{"Redirect", `<Redirect>/next</Redirect>`, &Redirect{Pos: Pos{2}, URL: "/next", Method: "POST"}},
		{"Hangup", `<Hangup/>`, &Hangup{Pos: Pos{2}}},
		{"Reject", `<Reject/>`, &Reject{Pos: Pos{2}, Reason: "rejected"}},
		{"Leave", `<Leave/>`, &Leave{Pos: Pos{2}}},
		{"Dial text", `<Dial>+15551230000</Dial>`, dial(&Number{Pos: Pos{2}, Number: "+15551230000", Method: "POST",
			CallStatusCallback: callbacks, AMD: amd})},
		{"Dial Number", `<Dial><Number>+15551230000</Number></Dial>`, dial(&Number{Pos: Pos{2}, Number: "+15551230000",
			Method: "POST", CallStatusCallback: callbacks, AMD: amd})},
		{"Dial Client", `<Dial><Client>alice</Client></Dial>`, dial(&Client{Pos: Pos{2}, Identity: "alice", Method: "POST",
			CallStatusCallback: callbacks})},
		{"Dial Sip", `<Dial><Sip>sip:bob@example.com</Sip></Dial>`, dial(&Sip{Pos: Pos{2}, URI: "sip:bob@example.com",
			Method: "POST", CallStatusCallback: callbacks, AMD: amd})},
		{"Dial Conference", `<Dial><Conference>room</Conference></Dial>`, dial(&Conference{Pos: Pos{2}, Name: "room",
			Beep: "true", StartConferenceOnEnter: true, JitterBufferSize: "large", WaitURL: nil, WaitMethod: "POST",
			MaxParticipants: 250, Record: "do-not-record", Trim: "trim-silence", StatusCallbackMethod: "POST",
			RecordingStatusCallbackMethod: "POST", RecordingStatusCallbackEvent: RecordingCompleted})},
		{"Dial Queue", `<Dial><Queue>support</Queue></Dial>`, dial(&Queue{Pos: Pos{2}, Name: "support", Method: "POST"})},
		{"Dial Application", `<Dial><Application><ApplicationSid>AP123</ApplicationSid></Application></Dial>`,
			dial(&Application{Pos: Pos{2}, SID: "AP123", Method: "POST", CallStatusCallback: callbacks})},
		{"Refer", `<Refer><Sip>sip:x@example.com</Sip></Refer>`, &Refer{Pos: Pos{2}, Method: "POST",
			Sip: &ReferSip{Pos: Pos{2}, URI: "sip:x@example.com"}}},
		{"Enqueue", `<Enqueue>support</Enqueue>`, &Enqueue{Pos: Pos{2}, Name: "support", Method: "POST", WaitURLMethod: "POST"}},
		{"Start Stream", `<Start><Stream url="wss://example.com/s"/></Start>`, &Start{Pos: Pos{2}, Method: "POST",
			Children: []StartNoun{&Stream{Pos: Pos{2}, URL: "wss://example.com/s", Track: "inbound_track", StatusCallbackMethod: "POST"}}}},
		{"Stop Stream", `<Stop><Stream name="s1"/></Stop>`, &Stop{Pos: Pos{2},
			Children: []StartNoun{&Stream{Pos: Pos{2}, Name: "s1", Track: "inbound_track", StatusCallbackMethod: "POST"}}}},
		{"Connect Stream", `<Connect><Stream url="wss://example.com/s"/></Connect>`, &Connect{Pos: Pos{2}, Method: "POST",
			Children: []ConnectNoun{&Stream{Pos: Pos{2}, URL: "wss://example.com/s", Track: "inbound_track", StatusCallbackMethod: "POST"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustParse(t, in(tc.doc))
			if len(r.Verbs) != 1 {
				t.Fatalf("got %d verbs, want 1", len(r.Verbs))
			}
			if !reflect.DeepEqual(r.Verbs[0], tc.want) {
				t.Errorf("got  %#v\nwant %#v", r.Verbs[0], tc.want)
				if d, ok := r.Verbs[0].(*Dial); ok && len(d.Targets) == 1 {
					t.Errorf("target %#v", d.Targets[0])
				}
			}
			// The constructors give the same defaults as Parse.
			stripLines(tc.want)
			if got := newLike(tc.want); got != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("constructor defaults differ from parsed ones:\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// newLike builds, with the New functions, the value that want holds.
func newLike(want Verb) Verb {
	switch v := want.(type) {
	case *Say:
		return NewSay(v.Text)
	case *Play:
		return NewPlay(v.URL)
	case *Pause:
		return NewPause()
	case *Gather:
		g := NewGather()
		g.Timeout, g.SpeechTimeout = v.Timeout, v.SpeechTimeout
		return g
	case *Record:
		return NewRecord()
	case *Redirect:
		return NewRedirect(v.URL)
	case *Hangup:
		return NewHangup()
	case *Reject:
		return NewReject("")
	case *Leave:
		return NewLeave()
	case *Refer:
		return NewRefer(v.Sip.URI)
	case *Enqueue:
		return NewEnqueue(v.Name)
	case *Dial:
		var n DialNoun
		switch t := v.Targets[0].(type) {
		case *Number:
			n = NewNumber(t.Number)
		case *Client:
			n = NewClient(t.Identity)
		case *Sip:
			n = NewSip(t.URI)
		case *Conference:
			n = NewConference(t.Name)
		case *Queue:
			n = NewQueue(t.Name)
		case *Application:
			n = NewApplication(t.SID)
		}
		return NewDial(n)
	case *Start:
		s := NewStream(v.Children[0].(*Stream).URL)
		return NewStart(s)
	case *Connect:
		s := NewStream(v.Children[0].(*Stream).URL)
		return NewConnect(s)
	}
	return nil
}

// TestInvalidValueKeepsDefault checks that a warned-about value leaves the
// attribute at Twilio's default, as Twilio does.
func TestInvalidValueKeepsDefault(t *testing.T) {
	r := mustParse(t, in(`<Dial timeout="x" method="PUT" record="sometimes" hangupOnStar="2">+15551230000</Dial>`,
		`<Gather timeout="-1" finishOnKey="ab" numDigits="0"/>`,
		`<Say loop="-3" voice="robot">hi</Say>`,
		`<Pause length="abc"/>`))
	d := r.Verbs[0].(*Dial)
	if d.Timeout != 30*time.Second || d.Method != "POST" || d.Record != DialDoNotRecord || d.HangupOnStar {
		t.Errorf("Dial = timeout %v method %q record %q hangupOnStar %v; want defaults", d.Timeout, d.Method, d.Record, d.HangupOnStar)
	}
	g := r.Verbs[1].(*Gather)
	if g.Timeout != 5*time.Second || g.FinishOnKey != "#" || g.NumDigits != 0 {
		t.Errorf("Gather = timeout %v finishOnKey %q numDigits %d; want defaults", g.Timeout, g.FinishOnKey, g.NumDigits)
	}
	s := r.Verbs[2].(*Say)
	if s.Loop != 1 || s.Voice != "" {
		t.Errorf("Say = loop %d voice %q; want 1 and empty", s.Loop, s.Voice)
	}
	if p := r.Verbs[3].(*Pause); p.Length != time.Second {
		t.Errorf("Pause length = %v, want 1s", p.Length)
	}
	if len(r.Warnings) != 10 {
		t.Errorf("got %d warnings, want 10:\n%s", len(r.Warnings), codes(r.Warnings))
	}
}
