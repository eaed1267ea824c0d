package twiml

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// kitchenSink is a document in which every field of every modelled type
// differs from its default; full lists those fully set elements.
func kitchenSink() (r *Response, full []Node) {
	say := &Say{Voice: VoiceAlice, Language: "fr-FR", Loop: 0, Text: "Bonjour", SSML: `Bonjour <break time="1s"/>`}
	play := &Play{URL: "/a.mp3", Loop: 3, Digits: "1w2W#"}
	pause := &Pause{Length: 4 * time.Second}
	g := &Gather{Action: "/g", Method: "GET", Input: InputSpeech, Timeout: 9 * time.Second, FinishOnKey: "*", NumDigits: 6,
		SpeechTimeout: 9 * time.Second, SpeechTimeoutAuto: true, MaxSpeechTime: 30 * time.Second, Language: "de-DE",
		Hints: "one, two", ProfanityFilter: false, SpeechModel: "phone_call", PartialResultCallback: "/partial",
		PartialResultCallbackMethod: "GET", ActionOnEmptyResult: true, Enhanced: true, BargeIn: false, Debug: true,
		Children: []GatherChild{NewSay("x"), NewPlay("/b.mp3"), NewPause()}}
	rec := &Record{Action: "/r", Method: "GET", Timeout: 0, FinishOnKey: "", MaxLength: 60 * time.Second, PlayBeep: false,
		Trim: DoNotTrim, RecordingStatusCallback: "/rs", RecordingStatusCallbackMethod: "GET",
		RecordingStatusCallbackEvent: RecordingInProgress | RecordingAbsent, Transcribe: true, TranscribeCallback: "/tc",
		RecordingConfigurationID: "RC1"}
	redirect := &Redirect{URL: "/next", Method: "GET"}
	hangup := &Hangup{Parameters: []Parameter{Param("a", "1")}}
	reject := &Reject{Reason: RejectBusy, Parameters: []Parameter{Param("b", "2")}}
	cb := CallStatusCallback{StatusCallback: "/cb", StatusCallbackMethod: "GET", StatusCallbackEvent: CallRinging}
	amd := AMD{MachineDetection: MachineDetectionDetectMessageEnd, MachineDetectionTimeout: 10 * time.Second,
		MachineDetectionSpeechThreshold: 3000 * time.Millisecond, MachineDetectionSpeechEndThreshold: 800 * time.Millisecond,
		MachineDetectionSilenceTimeout: 3000 * time.Millisecond, AmdStatusCallback: "/amd", AmdStatusCallbackMethod: "GET"}
	number := &Number{Number: "+15551230000", SendDigits: "ww12", URL: "/screen", Method: "GET", Byoc: "BY1",
		CallStatusCallback: cb, AMD: amd}
	client := &Client{Identity: "alice", URL: "/c", Method: "GET", NotificationURL: "/n", CallStatusCallback: cb,
		Parameters: []Parameter{Param("k", "v")}}
	sip := &Sip{URI: "sip:b@example.com", Username: "u", Password: "p", URL: "/s", Method: "GET", CallStatusCallback: cb, AMD: amd,
		URIs:    []SipURI{{URI: "sip:c@example.com", Priority: 2, Weight: 3, Username: "u2", Password: "p2"}},
		Headers: []SipHeader{{Name: "X-A", Value: "1"}}}
	dial := &Dial{Action: String("/d"), Method: "GET", Timeout: 45 * time.Second, TimeLimit: time.Hour, CallerID: "+15550000000",
		AnswerOnBridge: true, HangupOnStar: true, Record: DialRecordFromRingingDual, RecordingStatusCallback: "/drs",
		RecordingStatusCallbackMethod: "GET", RecordingStatusCallbackEvent: RecordingAbsent, RecordingTrack: RecordingTrackOutbound,
		RecordingConfigurationID: "RC2", Trim: TrimSilence, RingTone: "de", Sequential: true, ReferURL: "/refer",
		ReferMethod: "GET", CallReason: "why", Events: "call-progress-event", Passports: "abc",
		Targets: []DialNoun{number, client, sip}}
	conf := &Conference{Name: "room", Muted: true, Beep: BeepOnExit, StartConferenceOnEnter: false, EndConferenceOnExit: true,
		ParticipantLabel: "agent", JitterBufferSize: JitterOff, WaitURL: String(""), WaitMethod: "GET", MaxParticipants: 3,
		Record: ConferenceRecordFromStart, Region: "ie1", Trim: DoNotTrim, Coach: "CA1", StatusCallback: "/cs",
		StatusCallbackMethod: "GET", StatusCallbackEvent: ConferenceSpeaker | ConferenceAnnouncement,
		RecordingStatusCallback: "/crs", RecordingStatusCallbackMethod: "GET", RecordingStatusCallbackEvent: RecordingInProgress,
		EventCallbackURL: "/ev", RecordingConfigurationID: "RC3"}
	queue := &Queue{Name: "q", URL: "/qu", Method: "GET", ReservationSid: "WR1", PostWorkActivitySid: "WA1"}
	app := &Application{SID: "AP1", URL: "/au", Method: "GET", CallStatusCallback: cb, CustomerID: "cust", CopyParentTo: true,
		Parameters: []Parameter{Param("p", "q")}}
	refer := &Refer{Action: String(""), Method: "GET", Sip: &ReferSip{URI: "sip:t@example.com"}}
	enqueue := &Enqueue{Name: "q", Action: String("/e"), Method: "GET", WaitURL: String("/w"), WaitURLMethod: "GET",
		WorkflowSid: "WW1", MaxQueueSize: 9, Task: &Task{Body: `{"a":1}`, Priority: 4, Timeout: 30 * time.Second}}
	stream := &Stream{URL: "wss://x.example.com/s", Name: "s1", Track: BothTracks, StatusCallback: "/ss",
		StatusCallbackMethod: "GET", ConnectorName: "conn", Parameters: []Parameter{Param("x", "y")}}
	siprec := &Element{Name: "Siprec", Attrs: []Attr{{"connectorName", "c"}}, Children: []*Element{{Name: "Parameter", Attrs: []Attr{{"name", "n"}}}}}
	start := &Start{Action: String("/st"), Method: "GET", Children: []StartNoun{stream, siprec}}
	stop := &Stop{Children: []StartNoun{&Stream{Name: "s1", Track: InboundTrack, StatusCallbackMethod: "POST"}}}
	cstream := &Stream{URL: "wss://x.example.com/c", Name: "c1", Track: InboundTrack, StatusCallback: "/cs",
		StatusCallbackMethod: "GET", ConnectorName: "conn", Parameters: []Parameter{Param("x", "y")}}
	connect := &Connect{Action: String("/co"), Method: "GET", Children: []ConnectNoun{cstream,
		&Element{Name: "Room", Attrs: []Attr{{"participantIdentity", "bob"}}, Text: "DailyStandup"}}}
	pay := &Element{Name: "Pay", Attrs: []Attr{{"chargeAmount", "1.00"}}, Children: []*Element{{Name: "Prompt", Text: "card"}}}
	return New(say, play, pause, g, rec, redirect, hangup, reject, NewLeave(), dial, NewDial(conf), NewDial(queue), NewDial(app),
			refer, enqueue, start, stop, connect, pay),
		[]Node{say, play, pause, g, rec, redirect, hangup, reject, dial, number, client, sip, conf, queue, app, refer, enqueue,
			start, stream, connect}
}

// TestRoundTripEveryField builds a document with every field away from its
// default, writes it, parses it back and expects the same value. A field
// that Bytes forgets to write, or Parse to read, fails here.
func TestRoundTripEveryField(t *testing.T) {
	r, full := kitchenSink()
	b, err := r.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseStrict(b)
	if err != nil {
		t.Fatalf("ParseStrict: %v\n%s", err, b)
	}
	stripLines(back)
	if !reflect.DeepEqual(back.Verbs, r.Verbs) {
		t.Fatalf("round trip differs\nwrote  %s\nparsed %s", b, mustBytes(t, back))
	}
	// The sink really sets every field: compare each value with the value
	// its constructor gives.
	for _, n := range full {
		checkAwayFromDefaults(t, n)
	}
}

func checkAwayFromDefaults(t *testing.T, n Node) {
	t.Helper()
	var def any
	switch n.(type) {
	case *Say:
		def = NewSay("")
	case *Play:
		def = NewPlay("")
	case *Pause:
		def = NewPause()
	case *Gather:
		def = NewGather()
	case *Record:
		def = NewRecord()
	case *Redirect:
		def = NewRedirect("")
	case *Hangup:
		def = NewHangup()
	case *Reject:
		def = NewReject("")
	case *Dial:
		def = NewDial()
	case *Number:
		def = NewNumber("")
	case *Client:
		def = NewClient("")
	case *Sip:
		def = NewSip("")
	case *Conference:
		def = NewConference("")
	case *Queue:
		def = NewQueue("")
	case *Application:
		def = NewApplication("")
	case *Refer:
		def = &Refer{Method: MethodPOST}
	case *Enqueue:
		def = NewEnqueue("")
	case *Start:
		def = NewStart()
	case *Stream:
		def = NewStream("")
	case *Connect:
		def = NewConnect()
	default:
		return
	}
	got, want := reflect.ValueOf(n).Elem(), reflect.ValueOf(def).Elem()
	compareFields(t, n.Tag(), got, want)
}

func compareFields(t *testing.T, path string, got, def reflect.Value) {
	t.Helper()
	for i := 0; i < got.NumField(); i++ {
		f := got.Type().Field(i)
		if f.Type == posType {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			compareFields(t, path+"."+f.Name, got.Field(i), def.Field(i))
			continue
		}
		if reflect.DeepEqual(got.Field(i).Interface(), def.Field(i).Interface()) {
			t.Errorf("kitchen sink leaves %s.%s at its default; set it so the round trip covers it", path, f.Name)
		}
	}
}

// attrNames lists the attribute names of a field table.
func attrNames[T any](fs []field[T]) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

// docGen writes random, well-formed TwiML that uses every attribute name the
// package knows, with values drawn from a pool of valid and invalid ones.
type docGen struct {
	r *rand.Rand
	b strings.Builder
}

var valuePool = []string{"", "0", "1", "2", "5", "30", "601", "-1", "99999999999", "abc", "true", "false", "TRUE", "GET", "post",
	"PUT", "dtmf", "speech dtmf", "auto", "#", "*", "12#", "wW1", "initiated ringing", "completed,absent", "in-progress",
	"start end", "bogus completed", "inbound_track", "both_tracks", "both", "inbound", "record-from-answer", "do-not-trim",
	"trim-silence", "onEnter", "small", "us1", "uk", "Enable", "DetectMessageEnd", "2400", "3", "60", "250", "Polly.Joanna",
	"man", "client:alice", "+15551230000", "/path?q=1&amp;x=2", "wss://x.example.com/s", " spaced ", "a&amp;b&lt;c&gt;&quot;'",
	"&#9;&#10;&#13;", "http://[::1", "rejected", "busy", "do-not-record", "record-from-start", "large"}

var textPool = []string{"", "+15551230000", "(415) 555-1212", "sip:a@example.com?X-A=1&amp;X-B=2", "hello &amp; bye",
	"  padded  ", "room 1", "AP123", "alice", "<![CDATA[<raw>]]>", "line1\nline2", "é ü 日本"}

func (g *docGen) pick(pool []string) string { return pool[g.r.IntN(len(pool))] }

func (g *docGen) open(tag string, attrs []string) {
	g.b.WriteString("<" + tag)
	for _, a := range attrs {
		if g.r.IntN(3) == 0 {
			g.b.WriteString(" " + a + `="` + g.pick(valuePool) + `"`)
		}
	}
	if g.r.IntN(20) == 0 {
		g.b.WriteString(` unknownAttr="1"`)
	}
	g.b.WriteString(">")
}

func (g *docGen) elem(tag string, attrs []string, body func()) {
	g.open(tag, attrs)
	if body != nil {
		body()
	}
	g.b.WriteString("</" + tag + ">")
}

func (g *docGen) text() { g.b.WriteString(g.pick(textPool)) }

func (g *docGen) params() {
	for i := g.r.IntN(3); i > 0; i-- {
		g.elem("Parameter", attrNames(parameterFields), nil)
	}
}

func (g *docGen) say() {
	g.elem("Say", attrNames(sayFields), func() {
		g.text()
		if g.r.IntN(2) == 0 {
			g.b.WriteString(`<prosody rate="slow">x <break/></prosody><amazon:effect name="w">y</amazon:effect>`)
		}
	})
}

func (g *docGen) noun() {
	switch g.r.IntN(8) {
	case 0:
		g.elem("Number", attrNames(numberFields), g.text)
	case 1:
		g.elem("Client", attrNames(clientFields), func() {
			if g.r.IntN(2) == 0 {
				g.text()
			} else {
				g.elem("Identity", nil, g.text)
			}
			g.params()
		})
	case 2:
		g.elem("Sip", attrNames(sipFields), func() {
			g.text()
			if g.r.IntN(2) == 0 {
				g.elem("Uri", attrNames(sipURIFields), g.text)
				g.elem("Headers", nil, func() { g.elem("Header", attrNames(sipHeaderFields), nil) })
			}
		})
	case 3:
		g.elem("Conference", attrNames(conferenceFields), g.text)
	case 4:
		g.elem("Queue", attrNames(queueFields), g.text)
	case 5:
		g.elem("Application", attrNames(applicationFields), func() {
			if g.r.IntN(2) == 0 {
				g.elem("ApplicationSid", nil, g.text)
			} else {
				g.text()
			}
			g.params()
		})
	case 6:
		g.elem("Sim", nil, g.text)
	default:
		g.elem("Bogus", nil, g.text)
	}
}

func (g *docGen) verb() {
	switch g.r.IntN(17) {
	case 0:
		g.say()
	case 1:
		g.elem("Play", attrNames(playFields), g.text)
	case 2:
		g.elem("Pause", attrNames(pauseFields), nil)
	case 3:
		g.elem("Gather", attrNames(gatherFields), func() {
			for i := g.r.IntN(4); i > 0; i-- {
				switch g.r.IntN(4) {
				case 0:
					g.say()
				case 1:
					g.elem("Play", attrNames(playFields), g.text)
				case 2:
					g.elem("Pause", attrNames(pauseFields), nil)
				default:
					g.elem("Redirect", nil, g.text)
				}
			}
		})
	case 4:
		g.elem("Record", attrNames(recordFields), nil)
	case 5:
		g.elem("Redirect", attrNames(redirectFields), g.text)
	case 6:
		g.elem("Hangup", nil, g.params)
	case 7:
		g.elem("Reject", attrNames(rejectFields), g.params)
	case 8:
		g.elem("Leave", nil, nil)
	case 9, 10:
		g.elem("Dial", attrNames(dialFields), func() {
			if g.r.IntN(3) == 0 {
				g.text()
			}
			for i := g.r.IntN(4); i > 0; i-- {
				g.noun()
			}
		})
	case 11:
		g.elem("Refer", attrNames(referFields), func() {
			for i := g.r.IntN(3); i > 0; i-- {
				g.elem("Sip", nil, g.text)
			}
		})
	case 12:
		g.elem("Enqueue", attrNames(enqueueFields), func() {
			g.text()
			if g.r.IntN(2) == 0 {
				g.elem("Task", attrNames(taskFields), func() { g.b.WriteString(`{"k":"v"}`) })
			}
		})
	case 13:
		g.elem("Start", attrNames(startFields), func() {
			g.elem("Stream", attrNames(streamFields), g.params)
			g.elem("Siprec", []string{"name", "connectorName"}, g.params)
			g.elem("Recording", []string{"track"}, nil)
		})
	case 14:
		g.elem("Stop", nil, func() { g.elem("Stream", attrNames(streamFields), nil) })
	case 15:
		g.elem("Connect", attrNames(connectFields), func() {
			if g.r.IntN(2) == 0 {
				g.elem("Stream", attrNames(streamFields), g.params)
			} else {
				g.elem("ConversationRelay", []string{"url", "voice"}, func() { g.elem("Language", []string{"code"}, nil) })
			}
		})
	default:
		g.elem("Pay", []string{"chargeAmount"}, func() { g.elem("Prompt", []string{"for"}, g.say) })
	}
}

func (g *docGen) document() string {
	g.b.Reset()
	g.b.WriteString("<Response>\n")
	for i := g.r.IntN(6); i > 0; i-- {
		g.verb()
		g.b.WriteString("\n")
	}
	g.b.WriteString("</Response>")
	return g.b.String()
}

// TestRoundTripProperty: for random documents over every known attribute
// with valid and invalid values, parse → Bytes → parse gives the same
// verbs, and Bytes is stable.
func TestRoundTripProperty(t *testing.T) {
	g := &docGen{r: rand.New(rand.NewPCG(1, 2))}
	for i := 0; i < 3000; i++ {
		doc := g.document()
		r, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("case %d: generated document does not parse: %v\n%s", i, err, doc)
		}
		if _, err := checkRoundTrip(r); err != nil {
			t.Fatalf("case %d: %v\ngenerated document:\n%s", i, err, doc)
		}
	}
}
