package twiml

import (
	"encoding/xml"
	"net/url"
	"strings"
)

// Start is <Start>: begin a one-way media fork (Stream, Siprec,
// Transcription, Recording) and continue at once with the next verb
// (twilio-voice.md §1.2).
type Start struct {
	Pos
	Action   *string // helper libraries only; nil when absent
	Method   string  // default POST
	Children []StartNoun
}

// NewStart returns a Start of the given forks.
func NewStart(children ...StartNoun) *Start { return &Start{Method: MethodPOST, Children: children} }

func (*Start) Tag() string       { return "Start" }
func (*Start) isVerb()           {}
func (e *Start) write(w *writer) { writeParent(w, "Start", e, startFields, e.Children) }

var startFields = []field[Start]{
	optField("action", func(e *Start) **string { return &e.Action }),
	// No documented code; 13210 (Dial: invalid method) is the nearest.
	methodField("method", CodeDialMethod, func(e *Start) *string { return &e.Method }),
}

// Stop is <Stop>: end forks a <Start> began, by name (twilio-voice.md §1.2).
type Stop struct {
	Pos
	Children []StartNoun
}

// NewStop returns a Stop of the given forks.
func NewStop(children ...StartNoun) *Stop { return &Stop{Children: children} }

func (*Stop) Tag() string       { return "Stop" }
func (*Stop) isVerb()           {}
func (e *Stop) write(w *writer) { writeParent[Stop](w, "Stop", e, nil, e.Children) }

func (p *parser) start(se xml.StartElement, line int) (*Start, error) {
	e := NewStart()
	e.Line = line
	applyAttrs(p, e, "Start", line, se.Attr, startFields)
	var err error
	e.Children, err = p.forks(se, "Start", true)
	return e, err
}

func (p *parser) stop(se xml.StartElement, line int) (*Stop, error) {
	e := &Stop{Pos: Pos{line}}
	applyAttrs(p, e, "Stop", line, se.Attr, nil)
	var err error
	e.Children, err = p.forks(se, "Stop", false)
	return e, err
}

// forks reads the children of <Start> or <Stop> (twilio-voice.md §1.1).
// Recording is allowed in Start only.
func (p *parser) forks(se xml.StartElement, tag string, start bool) ([]StartNoun, error) {
	var out []StartNoun
	stray := false
	for {
		c, cl, ok, err := p.child(se.Name, nil, &stray)
		if err != nil || !ok {
			return out, err
		}
		var n StartNoun
		if c.Name.Space == "" {
			switch c.Name.Local {
			case "Stream":
				var s *Stream
				if s, err = p.stream(c, cl, tag); s != nil {
					n = s
				}
			case "Siprec", "Transcription":
				n, err = p.genericNoun(c, cl)
			case "Recording":
				if start {
					n, err = p.genericNoun(c, cl)
				}
			}
		}
		if err != nil {
			return nil, err
		}
		if n == nil {
			if err := p.unknown(CodeSchema, c, cl, "inside <"+tag+">"); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, n)
	}
}

func (p *parser) genericNoun(se xml.StartElement, line int) (*Element, error) {
	return p.generic(se, line, 1)
}

// Stream is <Stream>: media over a WebSocket (twilio-voice.md §1.2). Under
// <Start> it is a one-way fork; under <Connect> it is two-way and only the
// inbound track is available.
type Stream struct {
	Pos
	URL                  string      // wss:// (absolute or relative), no query string
	Name                 string      // unique per call; <Stop> uses it
	Track                StreamTrack // default InboundTrack
	StatusCallback       string
	StatusCallbackMethod string // default POST
	ConnectorName        string
	Parameters           []Parameter // the start message's customParameters
}

// StreamTrack is the track attribute of <Stream>.
type StreamTrack string

const (
	InboundTrack  StreamTrack = "inbound_track"
	OutboundTrack StreamTrack = "outbound_track"
	BothTracks    StreamTrack = "both_tracks"
)

// NewStream returns a Stream to url with Twilio's defaults.
func NewStream(url string) *Stream {
	return &Stream{URL: url, Track: InboundTrack, StatusCallbackMethod: MethodPOST}
}

func (*Stream) Tag() string    { return "Stream" }
func (*Stream) isStartNoun()   {}
func (*Stream) isConnectNoun() {}
func (e *Stream) write(w *writer) {
	writeWithParams(w, "Stream", e, streamFields, "", e.Parameters)
}

// Stream has no documented codes; its values use 12200 (schema: bad value).
var streamFields = []field[Stream]{
	strField("url", func(e *Stream) *string { return &e.URL }),
	strField("name", func(e *Stream) *string { return &e.Name }),
	enumField("track", CodeSchema, InboundTrack, []StreamTrack{InboundTrack, OutboundTrack, BothTracks}, nil,
		func(e *Stream) *StreamTrack { return &e.Track }),
	strField("statusCallback", func(e *Stream) *string { return &e.StatusCallback }),
	methodField("statusCallbackMethod", CodeSchema, func(e *Stream) *string { return &e.StatusCallbackMethod }),
	strField("connectorName", func(e *Stream) *string { return &e.ConnectorName }),
}

// maxStreamParameter is Twilio's limit on a Stream parameter's name plus
// value (twilio-voice.md §1.2).
const maxStreamParameter = 500

// stream reads a <Stream> whose parent is Start, Stop or Connect.
func (p *parser) stream(se xml.StartElement, line int, parent string) (*Stream, error) {
	e := NewStream("")
	e.Line = line
	applyAttrs(p, e, "Stream", line, se.Attr, streamFields)
	if parent == "Connect" && e.Track != InboundTrack {
		p.warn(CodeSchema, line, "<Connect><Stream> is two-way: only track=\"inbound_track\" is available; using it")
		e.Track = InboundTrack
	}
	switch u, err := url.Parse(e.URL); {
	case parent == "Stop":
		// <Stop> names the stream; its url does not matter.
		if e.Name == "" {
			p.warn(CodeSchema, line, "<Stop><Stream> has no name to stop")
		}
	case e.URL == "":
		p.warn(CodeInvalidURL, line, "<Stream> has no url")
	case err != nil:
		p.warn(CodeInvalidURL, line, "<Stream> url is not a URL: "+clip(e.URL))
	case u.Scheme != "" && !strings.EqualFold(u.Scheme, "wss"):
		p.warn(CodeInvalidURL, line, "<Stream> url must use wss://: "+clip(e.URL))
	case u.RawQuery != "":
		// Twilio does not pass a query string on; use Parameters instead.
		p.warn(CodeInvalidURL, line, "<Stream> url must not have a query string; use <Parameter>: "+clip(e.URL))
	}
	params, err := p.parameters(se, "Stream", nil)
	if err != nil {
		return nil, err
	}
	for _, pr := range params {
		if len(pr.Name)+len(pr.Value) >= maxStreamParameter {
			p.warn(CodeSchema, pr.Line, "<Stream><Parameter> name and value must be under 500 characters together")
		}
	}
	e.Parameters = params
	return e, nil
}
