package twiml

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// in wraps verb lines in a document: <Response> is line 1, so the first
// line given is line 2.
func in(lines ...string) string {
	return "<Response>\n" + strings.Join(lines, "\n") + "\n</Response>"
}

// TestParseReportsTwilioCodeAndLine covers every code Parse emits: the
// fatal ones come back as *Error, the others as a Warning, each with the line
// of the offending element.
func TestParseReportsTwilioCodeAndLine(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		code  int
		line  int
		fatal bool
	}{
		{"body over 64 kB", "<Response>" + strings.Repeat(" ", MaxDocumentSize) + "</Response>", CodeDocumentTooLarge, 0, true},
		{"malformed XML", "<Response>\n<Say>hi</Pause>\n</Response>", CodeParse, 2, true},
		{"unclosed element", "<Response>\n<Say>hi", CodeParse, 2, true},
		{"undefined entity", "<Response>\n\n<Say>&nbsp;</Say></Response>", CodeParse, 3, true},
		{"empty document", "", CodeParse, 1, true},
		{"text outside the root", "hello <Response/>", CodeParse, 1, true},
		{"second root", "<Response/>\n<Response/>", CodeParse, 2, true},
		{"unsupported encoding", `<?xml version="1.0" encoding="EBCDIC"?><Response/>`, CodeParse, 1, true},
		{"root is not Response", "<?xml version=\"1.0\"?>\n<Reponse><Say>hi</Say></Reponse>", CodeRootNotResponse, 2, true},
		{"namespaced root", `<t:Response xmlns:t="x"/>`, CodeRootNotResponse, 1, true},

		{"unknown verb", in(`<Say>hi</Say>`, `<Speak>hi</Speak>`), CodeSchema, 3, false},
		{"unknown attribute", in(`<Say colour="red">hi</Say>`), CodeSchema, 2, false},
		{"attribute on Response", `<Response foo="1"/>`, CodeSchema, 1, false},
		{"text in Response", in(`hello`), CodeSchema, 2, false},
		{"reject reason", in(`<Reject reason="maybe"/>`), CodeSchema, 2, false},

		{"Dial Conference with Number", in(`<Dial>`, `<Number>+15551230000</Number>`, `<Conference>room</Conference>`, `</Dial>`), CodeDialConferenceMixed, 4, false},
		{"Dial method", in(`<Dial method="PUT">+15551230000</Dial>`), CodeDialMethod, 2, false},
		{"Dial timeout not a number", in(`<Dial timeout="soon">+15551230000</Dial>`), CodeDialTimeout, 2, false},
		{"Dial timeout over 600", in(``, `<Dial timeout="900">+15551230000</Dial>`), CodeDialTimeout, 3, false},
		{"Dial hangupOnStar", in(`<Dial hangupOnStar="yes">+15551230000</Dial>`), CodeDialHangupOnStar, 2, false},
		{"Dial callerId", in(`<Dial callerId="+1 555 123">+15551230000</Dial>`), CodeDialCallerID, 2, false},
		{"Dial nested element", in(`<Dial>`, `<Say>hi</Say>`, `</Dial>`), CodeDialNested, 3, false},
		{"Dial text mixed with nouns", in(`<Dial>+15551230000<Number>+15551230001</Number></Dial>`), CodeDialNested, 2, false},
		{"Dial timeLimit", in(`<Dial timeLimit="0">+15551230000</Dial>`), CodeDialTimeLimit, 2, false},
		{"Dial record", in(`<Dial record="always">+15551230000</Dial>`), CodeDialRecord, 2, false},
		{"Dial ringTone", in(`<Dial ringTone="mars">+15551230000</Dial>`), CodeDialRingTone, 2, false},
		{"Number method", in(`<Dial>`, `<Number method="FETCH">+15551230000</Number>`, `</Dial>`), CodeNumberMethod, 3, false},
		{"Number sendDigits", in(`<Dial>`, `<Number sendDigits="12x">+15551230000</Number>`, `</Dial>`), CodeNumberSendDigits, 3, false},
		{"Number format", in(`<Dial>`, `<Number>call me</Number>`, `</Dial>`), CodePhoneNumberFormat, 3, false},
		{"Dial text format", in(`<Dial>sip:bob@example.com</Dial>`), CodePhoneNumberFormat, 2, false},
		{"Dial with nothing to dial", in(`<Dial/>`), CodePhoneNumberFormat, 2, false},
		{"Conference muted", in(`<Dial>`, `<Conference muted="1">r</Conference>`, `</Dial>`), CodeConferenceMuted, 3, false},
		{"Conference endConferenceOnExit", in(`<Dial><Conference endConferenceOnExit="no">r</Conference></Dial>`), CodeConferenceEndOnExit, 2, false},
		{"Conference startConferenceOnEnter", in(`<Dial><Conference startConferenceOnEnter="no">r</Conference></Dial>`), CodeConferenceStartOnEnter, 2, false},
		{"Conference waitMethod", in(`<Dial><Conference waitMethod="PUT">r</Conference></Dial>`), CodeConferenceWaitMethod, 2, false},
		{"Conference waitUrl", in(`<Dial><Conference waitUrl="http://[bad">r</Conference></Dial>`), CodeConferenceWaitURL, 2, false},
		{"Conference beep", in(`<Dial><Conference beep="loud">r</Conference></Dial>`), CodeConferenceBeep, 2, false},
		{"Conference name", in(`<Dial><Conference/></Dial>`), CodeConferenceName, 2, false},
		{"Conference trim", in(`<Dial><Conference trim="some">r</Conference></Dial>`), CodeConferenceTrim, 2, false},

		{"Gather finishOnKey", in(`<Gather finishOnKey="ab"/>`), CodeGatherFinishOnKey, 2, false},
		{"Gather method", in(`<Gather method="DELETE"/>`), CodeGatherMethod, 2, false},
		{"Gather timeout", in(`<Gather timeout="0"/>`), CodeGatherTimeout, 2, false},
		{"Gather numDigits", in(`<Gather numDigits="-2"/>`), CodeGatherNumDigits, 2, false},
		{"Gather nested Dial", in(`<Gather>`, `<Say>hi</Say>`, `<Dial>+15551230000</Dial>`, `</Gather>`), CodeGatherNested, 4, false},
		{"Gather nested Play digits", in(`<Gather>`, `<Play digits="1"/>`, `</Gather>`), CodeGatherNested, 3, false},

		{"Play loop", in(`<Play loop="-1">a.mp3</Play>`), CodePlayLoop, 2, false},
		{"Play digits", in(`<Play digits="12z"/>`), CodePlayLoop, 2, false},
		{"Say loop", in(`<Say loop="twice">hi</Say>`), CodeSayLoop, 2, false},
		{"Say voice", in(`<Say voice="robot">hi</Say>`), CodeSayVoice, 2, false},
		{"Say text", in(`<Say>   </Say>`), CodeSayText, 2, false},

		{"Record method", in(`<Record method="put"/>`), CodeRecordMethod, 2, false},
		{"Record timeout", in(`<Record timeout="-5"/>`), CodeRecordTimeout, 2, false},
		{"Record maxLength", in(`<Record maxLength="0"/>`), CodeRecordMaxLength, 2, false},
		{"Record finishOnKey", in(`<Record finishOnKey="x"/>`), CodeRecordFinishOnKey, 2, false},
		{"Record transcribe", in(`<Record transcribe="maybe"/>`), CodeRecordTranscribe, 2, false},
		{"Record transcribeCallback", in(`<Record transcribeCallback="http://[::1"/>`), CodeRecordTranscribeCallback, 2, false},
		{"Record playBeep", in(`<Record playBeep="0"/>`), CodeRecordPlayBeep, 2, false},
		{"Record recordingStatusCallbackEvent", in(`<Record recordingStatusCallbackEvent="completed done"/>`), CodeRecordingStatusEvent, 2, false},

		{"Redirect method", in(`<Redirect method="PATCH">/next</Redirect>`), CodeRedirectMethod, 2, false},
		{"Pause length", in(`<Pause length="0"/>`), CodePauseLength, 2, false},
		{"Stream url scheme", in(`<Start>`, `<Stream url="https://example.com/s"/>`, `</Start>`), CodeInvalidURL, 3, false},
	}
	seen := map[int]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.doc))
			if tc.fatal {
				var te *Error
				if !errors.As(err, &te) {
					t.Fatalf("Parse error = %v (%T), want *Error %d", err, err, tc.code)
				}
				if r != nil {
					t.Errorf("Parse returned a document with a fatal error")
				}
				if te.Code != tc.code || te.Line != tc.line {
					t.Fatalf("error = %d at line %d (%v), want %d at line %d", te.Code, te.Line, te, tc.code, tc.line)
				}
				if !strings.Contains(te.Error(), "error "+itoa(tc.code)) {
					t.Errorf("message %q does not name the code", te.Error())
				}
				seen[tc.code] = true
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, w := range r.Warnings {
				if w.Code == tc.code && w.Line == tc.line {
					if !strings.Contains(w.Error(), "warning "+itoa(tc.code)+" at line "+itoa(tc.line)) {
						t.Errorf("message %q does not name code and line", w.Error())
					}
					seen[tc.code] = true
					_, strictErr := ParseStrict([]byte(tc.doc))
					var te *Error
					if !errors.As(strictErr, &te) || te.Code != r.Warnings[0].Code || te.Line != r.Warnings[0].Line {
						t.Errorf("ParseStrict = %v, want the first warning %v as *Error", strictErr, r.Warnings[0])
					}
					return
				}
			}
			t.Fatalf("no warning %d at line %d; got:\n%s", tc.code, tc.line, codes(r.Warnings))
		})
	}
	// Every code the package declares for Parse is covered above.
	for _, c := range []int{CodeInvalidURL, CodeDocumentTooLarge, CodeParse, CodeRootNotResponse, CodeSchema,
		CodeDialConferenceMixed, CodeDialMethod, CodeDialTimeout, CodeDialHangupOnStar, CodeDialCallerID, CodeDialNested,
		CodeDialTimeLimit, CodeDialRecord, CodeDialRingTone, CodeNumberMethod, CodeNumberSendDigits, CodePhoneNumberFormat,
		CodeConferenceMuted, CodeConferenceEndOnExit, CodeConferenceStartOnEnter, CodeConferenceWaitURL, CodeConferenceWaitMethod,
		CodeConferenceBeep, CodeConferenceName, CodeConferenceTrim,
		CodeGatherFinishOnKey, CodeGatherMethod, CodeGatherTimeout, CodeGatherNumDigits, CodeGatherNested,
		CodePlayLoop, CodeSayLoop, CodeSayVoice, CodeSayText,
		CodeRecordMethod, CodeRecordTimeout, CodeRecordMaxLength, CodeRecordFinishOnKey, CodeRecordTranscribe,
		CodeRecordTranscribeCallback, CodeRecordPlayBeep, CodeRecordingStatusEvent, CodeRedirectMethod, CodePauseLength} {
		if !seen[c] {
			t.Errorf("code %d is not covered by the table", c)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
