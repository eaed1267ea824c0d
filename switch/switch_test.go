package callswitch

import (
	"strings"
	"testing"

	"tandem/rtpengine"
	"tandem/sipstack"
)

func TestStatusFromSIPFollowsTheRecommendedMapping(t *testing.T) {
	cases := map[int]string{
		200: StatusCompleted, 202: StatusCompleted,
		486: StatusBusy, 600: StatusBusy,
		408: StatusNoAnswer, 480: StatusNoAnswer, 487: StatusNoAnswer, 603: StatusNoAnswer,
		404: StatusFailed, 484: StatusFailed, 500: StatusFailed, 503: StatusFailed, 403: StatusFailed, 488: StatusFailed, 0: StatusFailed,
	}
	for code, want := range cases {
		if got := statusFromSIP(code); got != want {
			t.Errorf("statusFromSIP(%d) = %s, want %s", code, got, want)
		}
	}
}

func TestNormalizeNumber(t *testing.T) {
	cases := []struct{ in, want string }{
		{"+14155551212", "+14155551212"},
		{"(415) 555-1212", "+14155551212"},
		{"1-415-555-1212", "+14155551212"},
		{"4155551212", "+14155551212"},
		{"+44 20 7183 8750", "+442071838750"},
		{"alice", "alice"},
		{"  +15551234567 ", "+15551234567"},
		{"12345", "12345"},
	}
	for _, c := range cases {
		if got := normalizeNumber(c.in); got != c.want {
			t.Errorf("normalizeNumber(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for s, want := range map[string]bool{"+14155551212": true, "+0123": false, "14155551212": false, "+1": false, "+1415555121212345": false, "+1415a": false} {
		if isE164(s) != want {
			t.Errorf("isE164(%q) = %v", s, !want)
		}
	}
}

func TestTwilioAddress(t *testing.T) {
	cases := []struct {
		a    sipstack.Address
		want string
	}{
		{sipstack.Address{User: "+14155550100", URI: "sip:+14155550100@carrier"}, "+14155550100"},
		{sipstack.Address{User: "4155550100", URI: "sip:4155550100@carrier"}, "+14155550100"},
		{sipstack.Address{User: "anonymous", URI: "sip:anonymous@anonymous.invalid"}, "anonymous"},
		{sipstack.Address{User: "alice", URI: "sip:alice@example.com"}, "sip:alice@example.com"},
	}
	for _, c := range cases {
		if got := twilioAddress(c.a); got != c.want {
			t.Errorf("twilioAddress(%+v) = %q, want %q", c.a, got, c.want)
		}
	}
	for in, want := range map[string]string{"client:alice": "alice", "sip:bob@host": "bob", "+1415": "+1415", "sip:host": ""} {
		if got := sipUser(in); got != want {
			t.Errorf("sipUser(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderClassification(t *testing.T) {
	for name, want := range map[string][2]bool{
		"X-CustomerID": {true, true}, "x-lower": {true, true}, "User-to-User": {false, true},
		"Diversion": {false, false}, "X": {false, false}, "Xylophone": {false, false},
	} {
		if isXHeader(name) != want[0] || isReportedInbound(name) != want[1] {
			t.Errorf("%s: isXHeader=%v isReportedInbound=%v, want %v", name, isXHeader(name), isReportedInbound(name), want)
		}
	}
	if xName("Ticket") != "X-Ticket" || xName("X-Ticket") != "X-Ticket" || xName("User-to-User") != "User-to-User" {
		t.Error("xName")
	}
}

const offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
	"m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendonly\r\n" +
	"m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"

func TestPinCodecKeepsTheFirstCodecAndTelephoneEvent(t *testing.T) {
	ans, chosen, err := pinCodec([]byte(offer), true)
	if err != nil {
		t.Fatal(err)
	}
	if chosen != "8" {
		t.Errorf("chosen %s, want 8 (PCMA, first in the offer)", chosen)
	}
	s := string(ans)
	for _, want := range []string{"m=audio 4000 RTP/AVP 8 101\r\n", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event", "a=recvonly", "m=video 5000"} {
		if !strings.Contains(s, want) {
			t.Errorf("pinned answer lacks %q:\n%s", want, s)
		}
	}
	for _, gone := range []string{"a=rtpmap:0 ", "a=sendonly"} {
		if strings.Contains(s, gone) {
			t.Errorf("pinned answer still has %q", gone)
		}
	}
	if _, err := rtpengine.ParseSDP(ans); err != nil {
		t.Errorf("pinned answer does not parse: %v", err)
	}
}

func TestOfferLikeRestrictsToNegotiatedCodecs(t *testing.T) {
	out, err := offerLike([]byte(offer), []string{"0"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "m=audio 4000 RTP/AVP 0 101\r\n") || strings.Contains(string(out), "PCMA") {
		t.Errorf("offerLike:\n%s", out)
	}
	if _, err := offerLike([]byte(offer), []string{"18"}); err == nil {
		t.Error("offerLike with a codec the offer lacks: no error")
	}
	if got := audioFormats([]byte(offer)); strings.Join(got, ",") != "8,0" {
		t.Errorf("audioFormats = %v", got)
	}
}

func TestBuildOfferParses(t *testing.T) {
	b := buildOffer([]string{"PCMU", "PCMA", "telephone-event"})
	sd, err := rtpengine.ParseSDP(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(sd.Audio.PayloadTypes) != 3 || sd.Audio.PayloadTypes[0] != 0 || sd.Audio.PayloadTypes[2] != 101 {
		t.Errorf("payload types %v", sd.Audio.PayloadTypes)
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.RejectRejectedCode = 200 }, "reject_rejected_code"},
		{func(c *Config) { c.Codecs = []string{"opus9"} }, "codecs[0]"},
		{func(c *Config) { c.Codecs = []string{"telephone-event"} }, "codecs: must list an audio codec"},
		{func(c *Config) { c.MaxDocuments = 0 }, "max_documents"},
		{func(c *Config) { c.MaxApplicationDepth = 0 }, "max_application_depth"},
		{func(c *Config) { c.ClientMedia = "both" }, "client_media"},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %q, got %v", tc.want, err)
		}
	}
}

func TestParseEventsDefaultsToCompleted(t *testing.T) {
	if ev := parseEvents(nil); ev.String() != "completed" {
		t.Errorf("default %s", ev)
	}
	if ev := parseEvents([]string{"initiated", "ringing answered", "completed"}); ev.String() != "initiated ringing answered completed" {
		t.Errorf("all: %s", ev)
	}
}

func TestQueryHeaders(t *testing.T) {
	hs := queryHeaders("displayName=Alice&X-Ticket=7&User-to-User=ab%3Bencoding%3Dhex")
	got := []string{}
	for _, h := range hs {
		got = append(got, h.Name+"="+h.Value)
	}
	if strings.Join(got, "|") != "X-displayName=Alice|X-Ticket=7|User-to-User=ab;encoding=hex" {
		t.Errorf("queryHeaders: %v", got)
	}
}

// FuzzPinCodec: the codec helpers run on SDP that ParseSDP accepted; they
// must never panic and must keep what they produce parseable.
func FuzzPinCodec(f *testing.F) {
	f.Add([]byte(offer))
	f.Add(buildOffer([]string{"PCMU", "telephone-event"}))
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := rtpengine.ParseSDP(b); err != nil {
			return
		}
		if ans, chosen, err := pinCodec(b, true); err == nil {
			if chosen == "" {
				t.Fatal("no codec chosen without an error")
			}
			if _, err := rtpengine.ParseSDP(ans); err != nil && !strings.Contains(err.Error(), "audio") {
				t.Fatalf("pinned SDP no longer parses: %v\n%q", err, ans)
			}
		}
		_, _ = offerLike(b, audioFormats(b))
	})
}
