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

// sdpSection locates the first audio media section of an SDP body: its
// lines are lines[a:b]; the lines before it and after it stay as they are.
// The lines are substrings of one copy of the body (this runs for every
// call, so it allocates as little as it can).
type sdpSection struct {
	lines []string
	a, b  int
}

func (s sdpSection) audio() []string { return s.lines[s.a:s.b] }

func splitSections(body []byte) (sdpSection, error) {
	// Split as the media core's parser does: on LF, each line losing one
	// trailing CR (RFC 4566 §5 asks for leniency about CRLF).
	text := strings.TrimRight(string(body), "\n")
	lines := make([]string, 0, strings.Count(text, "\n")+1)
	for {
		l, rest, more := strings.Cut(text, "\n")
		lines = append(lines, strings.TrimSuffix(l, "\r"))
		if !more {
			break
		}
		text = rest
	}
	s := sdpSection{lines: lines, a: -1, b: len(lines)}
	for i, l := range lines {
		if !strings.HasPrefix(l, "m=") {
			continue
		}
		if s.a < 0 {
			if strings.HasPrefix(l, "m=audio ") && !strings.HasPrefix(l, "m=audio 0 ") {
				s.a = i
			}
		} else {
			s.b = i
			break
		}
	}
	if s.a < 0 {
		return s, errNoCommonCodec
	}
	return s, nil
}

// rtpmap is one a=rtpmap line: payload type and encoding ("PCMU/8000").
type rtpmap struct{ pt, enc string }

// rtpmaps reads the a=rtpmap lines of a media section.
func rtpmaps(lines []string) []rtpmap {
	var m []rtpmap
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
			if m == nil {
				m = make([]rtpmap, 0, len(lines))
			}
			pt, enc, _ := strings.Cut(v, " ")
			m = append(m, rtpmap{pt, enc})
		}
	}
	return m
}

// isTelephoneEvent reports whether pt is telephone-event in this section
// (encoding names are case-insensitive, RFC 4566 §6). Should a payload type
// have two rtpmap lines, the last one counts.
func isTelephoneEvent(maps []rtpmap, pt string) bool {
	const te = "telephone-event/"
	for i := len(maps) - 1; i >= 0; i-- {
		if m := maps[i]; m.pt == pt {
			return len(m.enc) >= len(te) && strings.EqualFold(m.enc[:len(te)], te)
		}
	}
	return false
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
	audio := s.audio()
	f := strings.Fields(audio[0])
	if len(f) < 4 {
		return nil, "", fmt.Errorf("m=%q: %w", audio[0], errNoCommonCodec)
	}
	maps := rtpmaps(audio)
	chosen := ""
	for _, pt := range f[3:] {
		if !isTelephoneEvent(maps, pt) {
			chosen = pt
			break
		}
	}
	if chosen == "" {
		return nil, "", errNoCommonCodec
	}
	keep := make([]string, 1, len(f)-3)
	keep[0] = chosen
	for _, pt := range f[3:] {
		if isTelephoneEvent(maps, pt) {
			keep = append(keep, pt)
		}
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
	audio := s.audio()
	f := strings.Fields(audio[0])
	if len(f) < 4 {
		return nil, errNoCommonCodec
	}
	maps := rtpmaps(audio)
	var keep []string
	for _, pt := range pts {
		if contains(f[3:], pt) {
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
	audio := s.audio()
	f := strings.Fields(audio[0])
	if len(f) < 4 {
		return nil
	}
	maps := rtpmaps(audio)
	var out []string
	for _, pt := range f[3:] {
		if !isTelephoneEvent(maps, pt) {
			out = append(out, pt)
		}
	}
	return out
}

// restrictSection writes the body back with the audio section's m= line
// listing keep (mfields is that line split in fields) and without the
// format attributes of the other payload types.
func restrictSection(s sdpSection, mfields []string, keep []string, answer bool) []byte {
	n := 0
	for _, l := range s.lines {
		n += len(l) + 2
	}
	b := make([]byte, 0, n)
	line := func(l string) {
		b = append(b, l...)
		b = append(b, "\r\n"...)
	}
	for _, l := range s.lines[:s.a] {
		line(l)
	}
	for i, f := range mfields[:3] {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f...)
	}
	for _, pt := range keep {
		b = append(b, ' ')
		b = append(b, pt...)
	}
	b = append(b, "\r\n"...)
	for _, l := range s.lines[s.a+1 : s.b] {
		if pt, ok := attrPayloadType(l); ok && !contains(keep, pt) {
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
		line(l)
	}
	for _, l := range s.lines[s.b:] {
		line(l)
	}
	return b
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
