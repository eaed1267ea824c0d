package twiml

import (
	"reflect"
	"testing"
	"time"

	helper "github.com/twilio/twilio-go/twiml"
)

// TestHelperLibraryDocuments parses documents built with Twilio's own Go
// helper library (github.com/twilio/twilio-go/twiml) — what applications
// written for Twilio send — and checks the typed values.
func TestHelperLibraryDocuments(t *testing.T) {
	tests := []struct {
		name  string
		verbs []helper.Element
		want  []Verb
	}{
		{
			name: "Dial Number",
			verbs: []helper.Element{&helper.VoiceDial{Action: "/dial-done", Timeout: "20", CallerId: "+15550001111", Record: "record-from-answer-dual",
				InnerElements: []helper.Element{&helper.VoiceNumber{PhoneNumber: "+15551230000", SendDigits: "wwww1928",
					StatusCallback: "/status", StatusCallbackEvent: "initiated ringing answered completed", MachineDetection: "Enable"}}}},
			want: func() []Verb {
				n := NewNumber("+15551230000")
				n.SendDigits = "wwww1928"
				n.StatusCallback = "/status"
				n.StatusCallbackEvent = CallInitiated | CallRinging | CallAnswered | CallCompleted
				n.MachineDetection = MachineDetectionEnable
				d := NewDial(n)
				d.Action = String("/dial-done")
				d.Timeout = 20 * time.Second
				d.CallerID = "+15550001111"
				d.Record = DialRecordFromAnswerDual
				return []Verb{d}
			}(),
		},
		{
			name:  "Dial plain number",
			verbs: []helper.Element{&helper.VoiceDial{Number: "+15551230000", HangupOnStar: "true", TimeLimit: "600"}},
			want: func() []Verb {
				d := NewDial(NewNumber("+15551230000"))
				d.HangupOnStar = true
				d.TimeLimit = 10 * time.Minute
				return []Verb{d}
			}(),
		},
		{
			name: "Dial Client with Identity and Parameters",
			verbs: []helper.Element{&helper.VoiceDial{AnswerOnBridge: "true", InnerElements: []helper.Element{&helper.VoiceClient{
				StatusCallbackMethod: "GET",
				InnerElements: []helper.Element{&helper.VoiceIdentity{ClientIdentity: "alice"},
					&helper.VoiceParameter{Name: "FirstName", Value: "Alice"}, &helper.VoiceParameter{Name: "LastName", Value: "Smith"}}}}}},
			want: func() []Verb {
				c := NewClient("alice")
				c.StatusCallbackMethod = "GET"
				c.Parameters = []Parameter{Param("FirstName", "Alice"), Param("LastName", "Smith")}
				d := NewDial(c)
				d.AnswerOnBridge = true
				return []Verb{d}
			}(),
		},
		{
			name: "Dial Sip with headers in the URI",
			verbs: []helper.Element{&helper.VoiceDial{ReferUrl: "/refer", Sequential: "true", InnerElements: []helper.Element{
				&helper.VoiceSip{SipUrl: "sip:agent@pbx.example.com;transport=tls?X-Customer=42&User-to-User=abc", Username: "u", Password: "s3cret"},
				&helper.VoiceSip{SipUrl: "sip:backup@pbx.example.com"}}}},
			want: func() []Verb {
				s := NewSip("sip:agent@pbx.example.com;transport=tls?X-Customer=42&User-to-User=abc")
				s.Username, s.Password = "u", "s3cret"
				d := NewDial(s, NewSip("sip:backup@pbx.example.com"))
				d.ReferURL = "/refer"
				d.Sequential = true
				return []Verb{d}
			}(),
		},
		{
			name: "Dial Sip with Uri and Headers children",
			verbs: []helper.Element{&helper.VoiceDial{InnerElements: []helper.Element{&helper.VoiceSip{InnerElements: []helper.Element{
				&helper.VoiceUri{SipUrl: "sip:a@example.com", Priority: "1", Weight: "5"},
				&helper.VoiceHeaders{InnerElements: []helper.Element{&helper.VoiceHeader{Name: "X-Tenant", Value: "t1"}}}}}}}},
			want: func() []Verb {
				s := NewSip("")
				s.URIs = []SipURI{{URI: "sip:a@example.com", Priority: 1, Weight: 5}}
				s.Headers = []SipHeader{{Name: "X-Tenant", Value: "t1"}}
				return []Verb{NewDial(s)}
			}(),
		},
		{
			name: "Dial Conference",
			verbs: []helper.Element{&helper.VoiceDial{InnerElements: []helper.Element{&helper.VoiceConference{Name: "Room 1234",
				Muted: "true", Beep: "onEnter", StartConferenceOnEnter: "false", EndConferenceOnExit: "true", WaitUrl: "",
				MaxParticipants: "10", Record: "record-from-start", StatusCallbackEvent: "start end join leave", JitterBufferSize: "small"}}}},
			want: func() []Verb {
				c := NewConference("Room 1234")
				c.Muted = true
				c.Beep = BeepOnEnter
				c.StartConferenceOnEnter = false
				c.EndConferenceOnExit = true
				c.MaxParticipants = 10
				c.Record = ConferenceRecordFromStart
				c.StatusCallbackEvent = ConferenceStart | ConferenceEnd | ConferenceJoin | ConferenceLeave
				c.JitterBufferSize = JitterSmall
				return []Verb{NewDial(c)}
			}(),
		},
		{
			name:  "Dial Queue",
			verbs: []helper.Element{&helper.VoiceDial{InnerElements: []helper.Element{&helper.VoiceQueue{Name: "support", Url: "/about-to-connect", Method: "GET"}}}},
			want: func() []Verb {
				q := NewQueue("support")
				q.URL, q.Method = "/about-to-connect", "GET"
				return []Verb{NewDial(q)}
			}(),
		},
		{
			name: "Dial Application with Parameters",
			verbs: []helper.Element{&helper.VoiceDial{Action: "/after-app", InnerElements: []helper.Element{&helper.VoiceApplication{
				CopyParentTo: "true", CustomerId: "customer-7",
				InnerElements: []helper.Element{&helper.VoiceApplicationSid{Sid: "AP0123456789abcdef0123456789abcdef"},
					&helper.VoiceParameter{Name: "AccountNumber", Value: "12345"}, &helper.VoiceParameter{Name: "Ticket", Value: "9"}}}}}},
			want: func() []Verb {
				a := NewApplication("AP0123456789abcdef0123456789abcdef")
				a.CopyParentTo = true
				a.CustomerID = "customer-7"
				a.Parameters = []Parameter{Param("AccountNumber", "12345"), Param("Ticket", "9")}
				d := NewDial(a)
				d.Action = String("/after-app")
				return []Verb{d}
			}(),
		},
		{
			name:  "Dial Application with the SID as text",
			verbs: []helper.Element{&helper.VoiceDial{InnerElements: []helper.Element{&helper.VoiceApplication{ApplicationSid: "AP1"}}}},
			want:  []Verb{NewDial(NewApplication("AP1"))},
		},
		{
			name: "Hangup and Reject with Parameters",
			verbs: []helper.Element{
				&helper.VoiceHangup{InnerElements: []helper.Element{&helper.VoiceParameter{Name: "Outcome", Value: "sold"}}},
				&helper.VoiceReject{Reason: "busy", InnerElements: []helper.Element{&helper.VoiceParameter{Name: "Why", Value: "closed"}}},
			},
			want: func() []Verb {
				rj := NewReject(RejectBusy)
				rj.Parameters = []Parameter{Param("Why", "closed")}
				return []Verb{NewHangup(Param("Outcome", "sold")), rj}
			}(),
		},
		{
			name: "Gather with nested Say",
			verbs: []helper.Element{&helper.VoiceGather{Input: "speech dtmf", Action: "/gathered", NumDigits: "1", Timeout: "3", SpeechTimeout: "auto",
				InnerElements: []helper.Element{&helper.VoiceSay{Message: "For sales, press 1.", Voice: "Polly.Amy", Language: "en-GB"},
					&helper.VoicePause{Length: "1"}}}},
			want: func() []Verb {
				s := NewSay("For sales, press 1.")
				s.Voice, s.Language = "Polly.Amy", "en-GB"
				g := NewGather(s, NewPause())
				g.Input = InputDTMF | InputSpeech
				g.Action = "/gathered"
				g.NumDigits = 1
				g.Timeout, g.SpeechTimeout, g.SpeechTimeoutAuto = 3*time.Second, 3*time.Second, true
				return []Verb{g}
			}(),
		},
		{
			name: "Refer",
			verbs: []helper.Element{&helper.VoiceRefer{Action: "/refer-done", Method: "GET",
				InnerElements: []helper.Element{&helper.VoiceReferSip{SipUrl: "sip:alice@example.com?X-Reason=transfer"}}}},
			want: func() []Verb {
				r := NewRefer("sip:alice@example.com?X-Reason=transfer")
				r.Action = String("/refer-done")
				r.Method = "GET"
				return []Verb{r}
			}(),
		},
		{
			name: "Start Stream with Parameters",
			verbs: []helper.Element{&helper.VoiceStart{InnerElements: []helper.Element{&helper.VoiceStream{Name: "fork-1",
				Url: "wss://media.example.com/stream", Track: "both_tracks", StatusCallback: "/stream-status",
				InnerElements: []helper.Element{&helper.VoiceParameter{Name: "CallerTier", Value: "gold"}}}}},
				&helper.VoiceSay{Message: "You are being recorded."}},
			want: func() []Verb {
				s := NewStream("wss://media.example.com/stream")
				s.Name, s.Track, s.StatusCallback = "fork-1", BothTracks, "/stream-status"
				s.Parameters = []Parameter{Param("CallerTier", "gold")}
				return []Verb{NewStart(s), NewSay("You are being recorded.")}
			}(),
		},
		{
			name: "Record, Redirect, Play, Enqueue",
			verbs: []helper.Element{
				&helper.VoicePlay{Url: "https://example.com/hold.mp3", Loop: "0"},
				&helper.VoiceRecord{MaxLength: "30", PlayBeep: "false", Transcribe: "true", FinishOnKey: "*", RecordingStatusCallbackEvent: "in-progress completed"},
				&helper.VoiceEnqueue{Name: "support", WaitUrl: "/wait", Action: "/left"},
				&helper.VoiceRedirect{Url: "/next", Method: "GET"},
			},
			want: func() []Verb {
				p := NewPlay("https://example.com/hold.mp3")
				p.Loop = 0
				rec := NewRecord()
				rec.MaxLength = 30 * time.Second
				rec.PlayBeep = false
				rec.Transcribe = true
				rec.FinishOnKey = "*"
				rec.RecordingStatusCallbackEvent = RecordingInProgress | RecordingCompleted
				e := NewEnqueue("support")
				e.WaitURL, e.Action = String("/wait"), String("/left")
				rd := NewRedirect("/next")
				rd.Method = "GET"
				return []Verb{p, rec, e, rd}
			}(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := helper.Voice(tc.verbs)
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			r, err := ParseStrict([]byte(doc))
			if err != nil {
				t.Fatalf("ParseStrict: %v\n%s", err, doc)
			}
			stripLines(r)
			if !reflect.DeepEqual(r.Verbs, tc.want) {
				t.Errorf("document %s\nparsed   %s\nwant     %s", doc, mustBytes(t, r), mustBytes(t, New(tc.want...)))
			}
		})
	}
}
