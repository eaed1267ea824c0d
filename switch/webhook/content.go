package webhook

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
)

// Kind says what the caller should do with a fetched body
// (twilio-voice.md §0, "How the response body is treated, by content type").
type Kind uint8

const (
	// KindTwiML: parse Body as TwiML (text/xml, application/xml, text/html,
	// or text/plain whose body is an XML document with a <Response> root).
	KindTwiML Kind = iota + 1
	// KindText: text/plain that is not TwiML: read Body aloud, then hang up.
	KindText
	// KindAudio: an audio/* response: play Response.URL, then hang up. The
	// body is not read (it may be large); the player fetches the URL.
	KindAudio
)

func (k Kind) String() string {
	switch k {
	case KindTwiML:
		return "twiml"
	case KindText:
		return "text"
	case KindAudio:
		return "audio"
	}
	return "unknown"
}

// mediaKind classifies a Content-Type header value by its media type
// (parameters such as charset are ignored, case-insensitively). ok is false
// for anything Twilio answers with 12300: a missing, empty or other type.
// text/plain is reported as KindText; classifyBody refines it.
func mediaKind(contentType []byte) (k Kind, ok bool) {
	mt := contentType
	if i := bytes.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = bytes.TrimSpace(mt)
	switch {
	case asciiEqualFold(mt, "text/xml"), asciiEqualFold(mt, "application/xml"), asciiEqualFold(mt, "text/html"):
		return KindTwiML, true
	case asciiEqualFold(mt, "text/plain"):
		return KindText, true
	case len(mt) > len("audio/") && asciiEqualFold(mt[:len("audio/")], "audio/"):
		return KindAudio, true
	}
	return 0, false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c1, c2 := b[i], s[i]
		if 'A' <= c1 && c1 <= 'Z' {
			c1 += 'a' - 'A'
		}
		if 'A' <= c2 && c2 <= 'Z' {
			c2 += 'a' - 'A'
		}
		if c1 != c2 {
			return false
		}
	}
	return true
}

// isTwiMLDocument reports whether body is a well-formed XML document whose
// single root element is <Response>: the test Twilio applies to a text/plain
// body (§0: "Runs the body if it is valid TwiML; otherwise reads the text
// aloud"). Validity of the verbs is the TwiML parser's business.
func isTwiMLDocument(body []byte) bool {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '<' {
		return false // cheap exit for ordinary text
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return roots == 1 && depth == 0
		}
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 || t.Name.Local != "Response" {
					return false
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) != 0 {
				return false
			}
		}
	}
}

// contentTypeString keeps the media type for Response.ContentType without
// allocating for the common types.
func contentTypeString(ct []byte) string {
	mt := ct
	if i := bytes.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = bytes.TrimSpace(mt)
	for _, s := range [...]string{"text/xml", "application/xml", "text/html", "text/plain"} {
		if asciiEqualFold(mt, s) {
			return s
		}
	}
	return strings.ToLower(string(mt))
}
