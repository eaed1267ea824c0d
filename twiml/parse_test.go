package twiml

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSayKeepsSSMLAndText(t *testing.T) {
	r := mustParse(t, in(`<Say voice="Polly.Joanna-Neural" language="en-GB" loop="0">`,
		`  Hello <break time="1s"/><prosody rate="slow">there &amp; <emphasis>you</emphasis></prosody>`,
		`  <amazon:effect name="whispered">psst</amazon:effect><blink/>`,
		`</Say>`))
	s := r.Verbs[0].(*Say)
	wantSSML := "\n  Hello <break time=\"1s\"/><prosody rate=\"slow\">there &amp; <emphasis>you</emphasis></prosody>\n" +
		"  <amazon:effect name=\"whispered\">psst</amazon:effect><blink/>\n"
	if s.SSML != wantSSML {
		t.Errorf("SSML = %q\nwant   %q", s.SSML, wantSSML)
	}
	if s.Text != "Hello there & you\n  psst" {
		t.Errorf("Text = %q", s.Text)
	}
	if s.Voice != "Polly.Joanna-Neural" || s.Language != "en-GB" || s.Loop != 0 {
		t.Errorf("attributes = %q %q %d", s.Voice, s.Language, s.Loop)
	}
	// <blink> is not SSML: a warning on its line, but it stays for the TTS engine.
	if len(r.Warnings) != 1 || r.Warnings[0].Code != CodeSchema || r.Warnings[0].Line != 4 {
		t.Errorf("warnings = %s", codes(r.Warnings))
	}
	roundTrip(t, r)
}

func TestSayPlainTextIsTrimmedAndUnescaped(t *testing.T) {
	r := mustParse(t, in(`<Say>`, `  Tom &amp; Jerry <![CDATA[<3]]>  `, `</Say>`))
	s := r.Verbs[0].(*Say)
	if s.Text != "Tom & Jerry <3" || s.SSML != "" {
		t.Errorf("Text %q SSML %q", s.Text, s.SSML)
	}
	if b := roundTrip(t, r); !strings.Contains(string(b), "<Say>Tom &amp; Jerry &lt;3</Say>") {
		t.Errorf("serialized as %s", b)
	}
}

func TestDialAttributes(t *testing.T) {
	r := mustParse(t, in(`<Dial action="/done" method="get" timeout="3" timeLimit="60" callerId="client:alice"`,
		` answerOnBridge="TRUE" hangupOnStar="true" record="true" recordingStatusCallbackEvent="in-progress,completed absent"`,
		` recordingTrack="inbound" trim="trim-silence" ringTone="uk" sequential="true" referUrl="/refer" referMethod="GET"`,
		` callReason="Sales">+15551230000</Dial>`,
		`<Dial record="false" action="">+15551230000</Dial>`,
		`<Dial>+15551230000</Dial>`))
	d := r.Verbs[0].(*Dial)
	want := NewDial(NewNumber("+15551230000"))
	want.Action = String("/done")
	want.Method = "GET"
	want.Timeout = 5 * time.Second // clamped up to the 5 s minimum
	want.TimeLimit = time.Minute
	want.CallerID = "client:alice"
	want.AnswerOnBridge = true
	want.HangupOnStar = true
	want.Record = DialRecordFromAnswer // "true" is an alias
	want.RecordingStatusCallbackEvent = RecordingInProgress | RecordingCompleted | RecordingAbsent
	want.RecordingTrack = RecordingTrackInbound
	want.Trim = TrimSilence
	want.RingTone = "uk"
	want.Sequential = true
	want.ReferURL = "/refer"
	want.ReferMethod = "GET"
	want.CallReason = "Sales"
	stripLines(d)
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
	if len(r.Warnings) != 1 || r.Warnings[0].Code != CodeDialTimeout {
		t.Errorf("warnings = %s", codes(r.Warnings))
	}
	// "false" is an alias for do-not-record; an empty action is present.
	d2 := r.Verbs[1].(*Dial)
	if d2.Record != DialDoNotRecord || d2.Action == nil || *d2.Action != "" {
		t.Errorf("record %q action %v", d2.Record, d2.Action)
	}
	// Absent action is nil: execution continues after the Dial.
	if r.Verbs[2].(*Dial).Action != nil {
		t.Errorf("absent action is not nil")
	}
	roundTrip(t, r)
}

func TestDialTargetRules(t *testing.T) {
	var many strings.Builder
	for i := 0; i < 12; i++ {
		many.WriteString("<Sip>sip:a@example.com</Sip>")
	}
	tests := []struct {
		name    string
		doc     string
		targets []string
		code    int // 0: no warning
	}{
		{"parallel mix", `<Dial><Number>+15551230000</Number><Client>bob</Client><Sip>sip:c@example.com</Sip></Dial>`,
			[]string{"Number", "Client", "Sip"}, 0},
		{"unformatted US number", `<Dial><Number>(415) 555-1212</Number></Dial>`, []string{"Number"}, 0},
		{"Application alone wins", `<Dial><Number>+15551230000</Number><Application>AP1</Application></Dial>`,
			[]string{"Application"}, CodeDialNested},
		{"Conference alone wins", `<Dial><Queue>q</Queue><Conference>r</Conference></Dial>`, []string{"Queue"}, CodeDialNested},
		{"Conference first", `<Dial><Conference>r</Conference><Sip>sip:a@example.com</Sip></Dial>`, []string{"Conference"}, CodeDialConferenceMixed},
		{"at most ten", "<Dial>" + many.String() + "</Dial>", strings.Split(strings.Repeat("Sip ", 10), " ")[:10], CodeDialNested},
		{"Sim kept as element", `<Dial><Sim>DE123</Sim></Dial>`, []string{"Sim"}, 0},
		{"text ignored beside nouns", `<Dial>+15550000000<Client>bob</Client></Dial>`, []string{"Client"}, CodeDialNested},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustParse(t, in(tc.doc))
			d := r.Verbs[0].(*Dial)
			var got []string
			for _, n := range d.Targets {
				got = append(got, n.Tag())
			}
			if !reflect.DeepEqual(got, tc.targets) {
				t.Errorf("targets = %v, want %v", got, tc.targets)
			}
			switch {
			case tc.code == 0 && len(r.Warnings) > 0:
				t.Errorf("unexpected warnings:\n%s", codes(r.Warnings))
			case tc.code != 0 && (len(r.Warnings) != 1 || r.Warnings[0].Code != tc.code):
				t.Errorf("warnings = %s, want one %d", codes(r.Warnings), tc.code)
			}
			roundTrip(t, r)
		})
	}
}

func TestDialNounChildren(t *testing.T) {
	r := mustParse(t, in(`<Dial>`,
		`<Client statusCallbackEvent="initiated ringing answered completed" statusCallback="/cb"><Identity>alice</Identity>`,
		`  <Parameter name="FirstName" value="Alice"/><Parameter name="Tier" value="gold"/></Client>`,
		`<Sip username="u" password="p">sip:bob@example.com?X-Acct=1&amp;User-to-User=abc`,
		`  <Uri priority="1" weight="10">sip:a@example.com</Uri><Uri>sip:b@example.com</Uri>`,
		`  <Headers><Header name="X-One" value="1"/><Header name="X-Two" value="2"/></Headers></Sip>`,
		`</Dial>`,
		`<Dial><Application copyParentTo="true" customerId="cust-9"><ApplicationSid>AP0123</ApplicationSid>`,
		`<Parameter name="AccountNumber" value="12345"/></Application></Dial>`))
	d := r.Verbs[0].(*Dial)
	c := d.Targets[0].(*Client)
	if c.Identity != "alice" || len(c.Parameters) != 2 || c.Parameters[1] != (Parameter{Pos{4}, "Tier", "gold"}) {
		t.Errorf("client = %+v", c)
	}
	if c.StatusCallbackEvent != CallInitiated|CallRinging|CallAnswered|CallCompleted || c.StatusCallback != "/cb" {
		t.Errorf("client callbacks = %+v", c.CallStatusCallback)
	}
	s := d.Targets[1].(*Sip)
	if s.URI != "sip:bob@example.com?X-Acct=1&User-to-User=abc" || s.Username != "u" || s.Password != "p" {
		t.Errorf("sip = %+v", s)
	}
	wantURIs := []SipURI{{Pos{6}, "sip:a@example.com", 1, 10, "", ""}, {Pos{6}, "sip:b@example.com", 0, 0, "", ""}}
	if !reflect.DeepEqual(s.URIs, wantURIs) {
		t.Errorf("uris = %+v", s.URIs)
	}
	wantHeaders := []SipHeader{{Pos{7}, "X-One", "1"}, {Pos{7}, "X-Two", "2"}}
	if !reflect.DeepEqual(s.Headers, wantHeaders) {
		t.Errorf("headers = %+v", s.Headers)
	}
	a := r.Verbs[1].(*Dial).Targets[0].(*Application)
	if a.SID != "AP0123" || !a.CopyParentTo || a.CustomerID != "cust-9" ||
		!reflect.DeepEqual(a.Parameters, []Parameter{{Pos{10}, "AccountNumber", "12345"}}) {
		t.Errorf("application = %+v", a)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings:\n%s", codes(r.Warnings))
	}
	roundTrip(t, r)
}

func TestConferenceWaitURLAbsentVersusEmpty(t *testing.T) {
	r := mustParse(t, in(`<Dial><Conference>a</Conference></Dial>`, `<Dial><Conference waitUrl="">b</Conference></Dial>`,
		`<Enqueue waitUrl="">q</Enqueue>`, `<Enqueue>q</Enqueue>`))
	if w := r.Verbs[0].(*Dial).Targets[0].(*Conference).WaitURL; w != nil {
		t.Errorf("absent waitUrl = %q, want nil (Twilio's hold music)", *w)
	}
	if w := r.Verbs[1].(*Dial).Targets[0].(*Conference).WaitURL; w == nil || *w != "" {
		t.Errorf("empty waitUrl = %v, want \"\" (silence)", w)
	}
	if w := r.Verbs[2].(*Enqueue).WaitURL; w == nil || *w != "" {
		t.Errorf("Enqueue empty waitUrl = %v", w)
	}
	if w := r.Verbs[3].(*Enqueue).WaitURL; w != nil {
		t.Errorf("Enqueue absent waitUrl = %v", w)
	}
	roundTrip(t, r)
}

func TestGatherSpeechAndChildren(t *testing.T) {
	r := mustParse(t, in(`<Gather input="speech dtmf" speechTimeout="auto" numDigits="4" finishOnKey="" hints="a, b"`,
		`  action="/g" actionOnEmptyResult="true" profanityFilter="false">`,
		`  <Say>Enter your PIN</Say>`,
		`  <Play loop="2">beep.wav</Play>`,
		`  <Pause length="2"/>`,
		`</Gather>`))
	g := r.Verbs[0].(*Gather)
	if g.Input != InputDTMF|InputSpeech || !g.SpeechTimeoutAuto || g.NumDigits != 4 || g.FinishOnKey != "" ||
		g.Hints != "a, b" || g.Action != "/g" || !g.ActionOnEmptyResult || g.ProfanityFilter {
		t.Errorf("gather = %+v", g)
	}
	if len(g.Children) != 3 {
		t.Fatalf("children = %d", len(g.Children))
	}
	lines := []int{g.Children[0].SourceLine(), g.Children[1].SourceLine(), g.Children[2].SourceLine()}
	if !reflect.DeepEqual(lines, []int{4, 5, 6}) {
		t.Errorf("child lines = %v", lines)
	}
	if p := g.Children[1].(*Play); p.Loop != 2 || p.URL != "beep.wav" {
		t.Errorf("play = %+v", p)
	}
	roundTrip(t, r)
}

func TestKnownButUnmodelledElementsAreKept(t *testing.T) {
	r := mustParse(t, in(`<Pay chargeAmount="10.00" paymentConnector="Default">`,
		`  <Prompt for="payment-card-number"><Say>Card number</Say></Prompt>`,
		`</Pay>`,
		`<Sms to="+15551230000">hi</Sms><Echo/><Queue>legacy</Queue>`,
		`<Connect action="/after"><ConversationRelay url="wss://ai.example.com" welcomeGreeting="Hi">`,
		`  <Language code="fr-FR" voice="x"/><Parameter name="k" value="v"/></ConversationRelay></Connect>`,
		`<Start><Siprec connectorName="rec"><Parameter name="a" value="b"/></Siprec><Transcription track="both_tracks"/><Recording track="both"/></Start>`,
		`<Stop><Siprec name="s"/></Stop>`))
	if len(r.Warnings) != 0 {
		t.Fatalf("known names were warned about:\n%s", codes(r.Warnings))
	}
	pay := r.Verbs[0].(*Element)
	if pay.Name != "Pay" || len(pay.Children) != 1 || pay.Children[0].Name != "Prompt" ||
		pay.Children[0].Children[0].Text != "Card number" {
		t.Errorf("pay = %+v", pay)
	}
	if v, ok := pay.Attr("chargeAmount"); !ok || v != "10.00" {
		t.Errorf("chargeAmount = %q %v", v, ok)
	}
	tags := []string{}
	for _, v := range r.Verbs {
		tags = append(tags, v.Tag())
	}
	if !reflect.DeepEqual(tags, []string{"Pay", "Sms", "Echo", "Queue", "Connect", "Start", "Stop"}) {
		t.Errorf("verbs = %v", tags)
	}
	cr := r.Verbs[4].(*Connect).Children[0].(*Element)
	if cr.Name != "ConversationRelay" || len(cr.Children) != 2 || cr.Line != 6 {
		t.Errorf("relay = %+v", cr)
	}
	if n := len(r.Verbs[5].(*Start).Children); n != 3 {
		t.Errorf("start children = %d", n)
	}
	roundTrip(t, r)
}

func TestStreamRules(t *testing.T) {
	r := mustParse(t, in(`<Connect><Stream url="wss://a.example.com/s" track="both_tracks"/></Connect>`,
		`<Start><Stream url="wss://a.example.com/s?x=1" track="both_tracks" name="n"/></Start>`,
		`<Start><Stream url="/relative"><Parameter name="`+strings.Repeat("k", 300)+`" value="`+strings.Repeat("v", 300)+`"/></Stream></Start>`,
		`<Stop><Recording/></Stop>`))
	if s := r.Verbs[0].(*Connect).Children[0].(*Stream); s.Track != InboundTrack {
		t.Errorf("Connect stream track = %q, want inbound_track", s.Track)
	}
	if s := r.Verbs[1].(*Start).Children[0].(*Stream); s.Track != BothTracks || s.Name != "n" {
		t.Errorf("Start stream = %+v", s)
	}
	want := []struct{ code, line int }{{CodeSchema, 2}, {CodeInvalidURL, 3}, {CodeSchema, 4}, {CodeSchema, 5}}
	if len(r.Warnings) != len(want) {
		t.Fatalf("warnings:\n%s", codes(r.Warnings))
	}
	for i, w := range want {
		if r.Warnings[i].Code != w.code || r.Warnings[i].Line != w.line {
			t.Errorf("warning %d = %v, want %d at %d", i, r.Warnings[i], w.code, w.line)
		}
	}
}

func TestUnknownElementsAreSkippedWherever(t *testing.T) {
	r := mustParse(t, in(`<x:Say xmlns:x="urn:x">hi</x:Say>`,
		`<Hangup><Parameter name="a" value="1"/><Extra><Deep/></Extra></Hangup>`,
		`<Reject reason="busy"><Parameter name="b" value="2"/></Reject>`,
		`<Record><Say>no</Say></Record>`))
	if len(r.Verbs) != 3 {
		t.Fatalf("verbs = %d", len(r.Verbs))
	}
	h := r.Verbs[0].(*Hangup)
	if !reflect.DeepEqual(h.Parameters, []Parameter{{Pos{3}, "a", "1"}}) {
		t.Errorf("hangup = %+v", h)
	}
	rj := r.Verbs[1].(*Reject)
	if rj.Reason != RejectBusy || len(rj.Parameters) != 1 {
		t.Errorf("reject = %+v", rj)
	}
	lines := []int{}
	for _, w := range r.Warnings {
		if w.Code != CodeSchema {
			t.Errorf("warning %v, want 12200", w)
		}
		lines = append(lines, w.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 3, 5}) {
		t.Errorf("warning lines = %v\n%s", lines, codes(r.Warnings))
	}
}

func TestDocumentForms(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
		text string
	}{
		{"declaration and comments", []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- hi -->\n<Response><!-- c --><Say>a</Say></Response>\n<!-- end -->\n"), "a"},
		{"byte order mark", []byte("\xef\xbb\xbf<Response><Say>a</Say></Response>"), "a"},
		{"latin-1", []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Response><Say>caf\xe9</Say></Response>"), "café"},
		{"ascii", []byte(`<?xml version="1.0" encoding="US-ASCII"?><Response><Say>a</Say></Response>`), "a"},
		{"exactly 64 kB", []byte("<Response><Say>a</Say>" + strings.Repeat(" ", MaxDocumentSize-len("<Response><Say>a</Say></Response>")) + "</Response>"), "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Verbs[0].(*Say).Text; got != tc.text {
				t.Errorf("text = %q, want %q", got, tc.text)
			}
		})
	}
}

func TestEmptyResponse(t *testing.T) {
	for _, doc := range []string{`<Response/>`, `<Response></Response>`, "<Response>\n  \n</Response>"} {
		r := mustParse(t, doc)
		if len(r.Verbs) != 0 || len(r.Warnings) != 0 {
			t.Errorf("%q: %d verbs, warnings %s", doc, len(r.Verbs), codes(r.Warnings))
		}
	}
}

// TestDeepNestingIsBounded checks that nesting as deep as 64 kB allows
// neither crashes nor recursion: unknown and SSML content is scanned
// iteratively, and Element trees stop at maxGenericDepth.
func TestDeepNestingIsBounded(t *testing.T) {
	const n = 9000 // 7 bytes a level: the deepest nesting under 64 kB
	deep := strings.Repeat("<a>", n) + strings.Repeat("</a>", n)
	for _, tc := range []struct{ name, doc string }{
		{"unknown", in("<Foo>" + deep + "</Foo>")},
		{"ssml", in("<Say>" + deep + "</Say>")},
		{"element", in("<Pay>" + deep + "</Pay>")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustParse(t, tc.doc)
			if tc.name == "element" {
				depth := 0
				for e := r.Verbs[0].(*Element); len(e.Children) > 0; e = e.Children[0] {
					depth++
				}
				if depth != maxGenericDepth-1 {
					t.Errorf("kept depth %d, want %d", depth, maxGenericDepth-1)
				}
			}
			if len(r.Warnings) == 0 {
				t.Errorf("no warning for the unknown content")
			}
		})
	}
	_, err := Parse([]byte(in("<Say>" + strings.Repeat("<a>", n) + strings.Repeat("</a>", n-1) + "</b></Say>")))
	var te *Error
	if !errors.As(err, &te) || te.Code != CodeParse {
		t.Errorf("mismatched end tag deep inside: %v", err)
	}
}

func TestBytesRefusesWhatIsNotXML(t *testing.T) {
	tests := []struct {
		name string
		r    *Response
	}{
		{"nil verb", New(NewSay("a"), nil)},
		{"nil pointer verb", New((*Say)(nil))},
		{"nil noun", New(NewDial(nil))},
		{"bad element name", New(&Element{Name: "1abc"})},
		{"bad attribute name", New(&Element{Name: "Sms", Attrs: []Attr{{Name: "a b", Value: "1"}}})},
		{"malformed SSML", New(&Say{SSML: "<break>", Loop: 1})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.r.Bytes()
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("Bytes error = %v, want *Error", err)
			}
		})
	}
}

func TestBuilderOutput(t *testing.T) {
	d := NewDial(NewNumber("+15551230000"), NewSip("sip:bob@example.com"))
	d.Action = String("/dial-done")
	d.Timeout = 20 * time.Second
	g := NewGather(NewSay("Press 1"))
	g.NumDigits = 1
	r := New(NewSay(`Tom "T" & <Jerry>`), d).Append(g, NewHangup(Param("Result", "ok")))
	b, err := r.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?><Response>` +
		`<Say>Tom "T" &amp; &lt;Jerry&gt;</Say>` +
		`<Dial action="/dial-done" timeout="20"><Number>+15551230000</Number><Sip>sip:bob@example.com</Sip></Dial>` +
		`<Gather numDigits="1"><Say>Press 1</Say></Gather>` +
		`<Hangup><Parameter name="Result" value="ok"/></Hangup></Response>`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	if r.String() != want {
		t.Errorf("String differs from Bytes")
	}
	r2, err := ParseStrict(b)
	if err != nil {
		t.Fatalf("built document does not parse cleanly: %v", err)
	}
	stripLines(r2)
	if !reflect.DeepEqual(r2.Verbs, r.Verbs) {
		t.Errorf("parsed back differently")
	}
}

func TestAttributeEscapingRoundTrips(t *testing.T) {
	p := NewPlay("a.mp3")
	s := NewSip("sip:x@example.com")
	s.Password = "p\"a'ss&<>\t\n\r end"
	r := New(p, NewDial(s))
	b, err := r.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	r2 := mustParse(t, string(b))
	if got := r2.Verbs[1].(*Dial).Targets[0].(*Sip).Password; got != s.Password {
		t.Errorf("password = %q, want %q", got, s.Password)
	}
}

func TestWarningsAreBounded(t *testing.T) {
	r := mustParse(t, in(strings.Repeat("<Foo/>\n", 500)))
	if len(r.Warnings) != maxWarnings+1 {
		t.Fatalf("got %d warnings, want %d", len(r.Warnings), maxWarnings+1)
	}
	last := r.Warnings[maxWarnings]
	if last.Code != CodeSchema || last.Line != 501 || !strings.Contains(last.Message, "400 more warnings") {
		t.Errorf("summary warning = %v", last)
	}
}
