package callswitch

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// tandem relays media without transcoding, so whenever it must answer one
// leg before the other leg's answer is known (a call answered before <Dial>,
// a REST call whose TwiML then dials), it fixes one audio codec on the first
// leg and offers only that codec to the next one. When both answers are
// known (answerOnBridge), the far end's answer is passed through instead.

// codec is an RTP payload format tandem can name in an offer.
type codec struct {
	name string
	pt   uint8
	rate int
	fmtp string
}

// staticCodecs are the RTP/AVP static payload types (RFC 3551 §6) plus
// telephone-event (RFC 4733) on tandem's customary dynamic type.
var staticCodecs = []codec{
	{"PCMU", 0, 8000, ""},
	{"GSM", 3, 8000, ""},
	{"G723", 4, 8000, ""},
	{"PCMA", 8, 8000, ""},
	{"G722", 9, 8000, ""},
	{"G729", 18, 8000, "annexb=no"},
	{"telephone-event", 101, 8000, "0-16"},
}

func lookupCodec(name string) (codec, bool) {
	for _, c := range staticCodecs {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	return codec{}, false
}

func codecNames() []string {
	out := make([]string, len(staticCodecs))
	for i, c := range staticCodecs {
		out[i] = c.name
	}
	return out
}

// buildOffer returns an SDP offer for the codecs, with a placeholder address
// that the media leg's RewriteSDP replaces with its local endpoint.
func buildOffer(names []string) []byte {
	var b bytes.Buffer
	b.WriteString("v=0\r\no=tandem 1 1 IN IP4 0.0.0.0\r\ns=tandem\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP")
	var cs []codec
	for _, n := range names {
		if c, ok := lookupCodec(n); ok {
			cs = append(cs, c)
			b.WriteString(" ")
			b.WriteString(strconv.Itoa(int(c.pt)))
		}
	}
	b.WriteString("\r\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/%d\r\n", c.pt, c.name, c.rate)
		if c.fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", c.pt, c.fmtp)
		}
	}
	b.WriteString("a=ptime:20\r\na=sendrecv\r\n")
	return b.Bytes()
}

var errNoCommonCodec = errors.New("no audio codec in the offer")

// sdpSection locates the first audio media section of an SDP body: the
// lines before it, its lines, and the lines after it.
type sdpSection struct {
	head, audio, tail []string
}

func splitSections(body []byte) (sdpSection, error) {
	// Split as the media core's parser does: on LF, each line losing one
	// trailing CR (RFC 4566 §5 asks for leniency about CRLF).
	lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	var s sdpSection
	state := 0 // 0 head, 1 audio, 2 tail
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			switch {
			case state == 0 && strings.HasPrefix(l, "m=audio ") && !strings.HasPrefix(l, "m=audio 0 "):
				state = 1
			case state == 1:
				state = 2
			}
		}
		switch state {
		case 0:
			s.head = append(s.head, l)
		case 1:
			s.audio = append(s.audio, l)
		default:
			s.tail = append(s.tail, l)
		}
	}
	if len(s.audio) == 0 {
		return s, errNoCommonCodec
	}
	return s, nil
}

func (s sdpSection) bytes() []byte {
	var b bytes.Buffer
	for _, part := range [][]string{s.head, s.audio, s.tail} {
		for _, l := range part {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
	}
	return b.Bytes()
}

// rtpmaps reads a=rtpmap lines of a media section: payload type → encoding
// name (lower case) and clock rate.
func rtpmaps(lines []string) map[string]string {
	m := map[string]string{}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
			pt, enc, _ := strings.Cut(v, " ")
			m[pt] = strings.ToLower(enc)
		}
	}
	return m
}

// isTelephoneEvent reports whether pt is telephone-event in this section.
func isTelephoneEvent(maps map[string]string, pt string) bool {
	return strings.HasPrefix(maps[pt], "telephone-event/")
}

// pinCodec keeps, in the first audio section, only the first audio payload
// type of the offer and the telephone-event types; the result is what tandem
// answers to a leg it must answer before the far end's answer is known, and
// what it then offers the far end (RFC 3264 §6.1: an answer lists a subset
// of the offered formats). answer turns the direction attribute around
// (sendonly ↔ recvonly).
func pinCodec(body []byte, answer bool) ([]byte, string, error) {
	s, err := splitSections(body)
	if err != nil {
		return nil, "", err
	}
	f := strings.Fields(s.audio[0])
	if len(f) < 4 {
		return nil, "", fmt.Errorf("m=%q: %w", s.audio[0], errNoCommonCodec)
	}
	maps := rtpmaps(s.audio)
	var keep []string
	chosen := ""
	for _, pt := range f[3:] {
		switch {
		case isTelephoneEvent(maps, pt):
			keep = append(keep, pt)
		case chosen == "":
			chosen = pt
			keep = append([]string{pt}, keep...)
		}
	}
	if chosen == "" {
		return nil, "", errNoCommonCodec
	}
	return restrictSection(s, f, keep, answer), chosen, nil
}

// offerLike restricts an offer to the payload types named (in that order),
// keeping telephone-event types, so that a new leg is offered exactly what
// another leg already negotiated.
func offerLike(body []byte, pts []string) ([]byte, error) {
	s, err := splitSections(body)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(s.audio[0])
	if len(f) < 4 {
		return nil, errNoCommonCodec
	}
	maps := rtpmaps(s.audio)
	offered := map[string]bool{}
	for _, pt := range f[3:] {
		offered[pt] = true
	}
	var keep []string
	for _, pt := range pts {
		if offered[pt] {
			keep = append(keep, pt)
		}
	}
	if len(keep) == 0 {
		return nil, errNoCommonCodec
	}
	for _, pt := range f[3:] {
		if isTelephoneEvent(maps, pt) && !contains(keep, pt) {
			keep = append(keep, pt)
		}
	}
	return restrictSection(s, f, keep, false), nil
}

// audioFormats returns the payload types of the first audio section, in
// order, without telephone-event.
func audioFormats(body []byte) []string {
	s, err := splitSections(body)
	if err != nil {
		return nil
	}
	f := strings.Fields(s.audio[0])
	if len(f) < 4 {
		return nil
	}
	maps := rtpmaps(s.audio)
	var out []string
	for _, pt := range f[3:] {
		if !isTelephoneEvent(maps, pt) {
			out = append(out, pt)
		}
	}
	return out
}

func restrictSection(s sdpSection, mfields []string, keep []string, answer bool) []byte {
	kept := map[string]bool{}
	for _, pt := range keep {
		kept[pt] = true
	}
	out := []string{strings.Join(append(append([]string{}, mfields[:3]...), keep...), " ")}
	for _, l := range s.audio[1:] {
		if pt, ok := attrPayloadType(l); ok && !kept[pt] {
			continue
		}
		if answer {
			switch l {
			case "a=sendonly":
				l = "a=recvonly"
			case "a=recvonly":
				l = "a=sendonly"
			}
		}
		out = append(out, l)
	}
	s.audio = out
	return s.bytes()
}

// attrPayloadType returns the payload type a format-specific attribute
// (rtpmap, fmtp, rtcp-fb) applies to.
func attrPayloadType(line string) (string, bool) {
	for _, p := range []string{"a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"} {
		if v, ok := strings.CutPrefix(line, p); ok {
			pt, _, _ := strings.Cut(v, " ")
			return pt, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
