package sipstack

import (
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// Reason labels why a request was refused. They are the low-cardinality
// label values of the refusal counter on /metrics.
type Reason uint8

const (
	ReasonNotTrunk         Reason = iota // source matches no inbound trunk (403 or dropped)
	ReasonRateLimited                    // per-source token bucket empty (503)
	ReasonMaxCalls                       // concurrent call cap reached (503)
	ReasonMaxCPS                         // global calls-per-second cap reached (503)
	ReasonDraining                       // Drain was called (503)
	ReasonBadRequest                     // malformed request, Content-Length mismatch (400)
	ReasonBadSDP                         // missing or malformed SDP offer (488)
	ReasonUnsupportedMedia               // body is not application/sdp (415)
	ReasonLoop                           // our own Via in the request (482)
	ReasonTooManyHops                    // Max-Forwards 0 (483)
	ReasonBadExtension                   // Require names an extension we lack (420)
	ReasonMethodNotAllowed               // 405/501
	ReasonNoDialog                       // in-dialog request for an unknown dialog (481)
	ReasonUnauthorized                   // digest authentication failed or missing (401/407)
	ReasonNoHandler                      // no INVITE handler installed (503)
	ReasonBusy                           // dialog busy with another request (491/500)
	numReasons
)

var reasonNames = [numReasons]string{
	"not_trunk", "rate_limited", "max_calls", "max_cps", "draining", "bad_request",
	"bad_sdp", "unsupported_media", "loop", "too_many_hops", "bad_extension",
	"method_not_allowed", "no_dialog", "unauthorized", "no_handler", "busy",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// methodIndex maps request methods to counter slots; the last slot is
// "other" so that a flood of invented methods cannot add label values.
var methodNames = [...]string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "REFER", "NOTIFY", "INFO", "SUBSCRIBE", "UPDATE", "PRACK", "MESSAGE", "other"}

const numMethods = len(methodNames)

func methodIndex(m sip.RequestMethod) int {
	switch m {
	case sip.INVITE:
		return 0
	case sip.ACK:
		return 1
	case sip.BYE:
		return 2
	case sip.CANCEL:
		return 3
	case sip.OPTIONS:
		return 4
	case sip.REGISTER:
		return 5
	case sip.REFER:
		return 6
	case sip.NOTIFY:
		return 7
	case sip.INFO:
		return 8
	case sip.SUBSCRIBE:
		return 9
	case sip.UPDATE:
		return 10
	case sip.PRACK:
		return 11
	case sip.MESSAGE:
		return 12
	}
	return numMethods - 1
}

// methodIndexBytes is methodIndex for the start of a raw datagram, so that
// outgoing messages are counted without parsing them.
func methodIndexBytes(b []byte) int {
	for i, m := range methodNames[:numMethods-1] {
		if len(b) > len(m) && b[len(m)] == ' ' && string(b[:len(m)]) == m {
			return i
		}
	}
	return numMethods - 1
}

type counters struct {
	requestsIn   [numMethods]atomic.Uint64
	requestsOut  [numMethods]atomic.Uint64
	responsesIn  [7]atomic.Uint64 // index = status/100; 0 unused
	responsesOut [7]atomic.Uint64
	refused      [numReasons]atomic.Uint64

	parseErrors    atomic.Uint64
	logsDropped    atomic.Uint64
	tcpRefused     atomic.Uint64
	inboundActive  atomic.Int64
	outboundActive atomic.Int64
	dialogsActive  atomic.Int64
	inboundTotal   atomic.Uint64
	outboundTotal  atomic.Uint64
	progressLost   atomic.Uint64
	registrations  atomic.Int64
}

func (c *counters) refuse(r Reason) { c.refused[r].Add(1) }

// countOut counts one outgoing datagram or stream write by peeking at its
// start line (no parsing, no allocation).
func (c *counters) countOut(b []byte) {
	if len(b) >= 12 && string(b[:8]) == "SIP/2.0 " {
		if d := b[8]; d >= '1' && d <= '6' {
			c.responsesOut[d-'0'].Add(1)
		}
		return
	}
	if len(b) > 4 {
		c.requestsOut[methodIndexBytes(b)].Add(1)
	}
}

// Stats is a snapshot of the stack's counters; cmd/tandem exports it on
// /metrics. Maps are keyed by low-cardinality labels: method names (with
// "other"), response classes "1xx".."6xx", and Reason strings.
type Stats struct {
	RequestsIn   map[string]uint64
	RequestsOut  map[string]uint64
	ResponsesIn  map[string]uint64
	ResponsesOut map[string]uint64
	// Refused counts requests refused before any costly work, by Reason.
	Refused map[string]uint64

	// ParseErrors counts messages sipgo could not parse (dropped) plus
	// datagrams refused for a truncated body.
	ParseErrors uint64
	// LogRecordsDropped counts sipgo log records suppressed by the rate limit.
	LogRecordsDropped uint64
	// TCPRefused counts TCP connections closed at accept because of the cap.
	TCPRefused uint64
	// ProgressDropped counts provisional responses not delivered to a slow
	// DialUpdate reader (the final answer is never dropped).
	ProgressDropped uint64

	InboundCallsActive  int64
	OutboundCallsActive int64
	DialogsActive       int64
	InboundCallsTotal   uint64
	OutboundCallsTotal  uint64
	Registrations       int64
}

// Stats returns a snapshot of the counters.
func (s *Stack) Stats() Stats {
	c := &s.stats
	st := Stats{
		RequestsIn:   make(map[string]uint64, numMethods),
		RequestsOut:  make(map[string]uint64, numMethods),
		ResponsesIn:  make(map[string]uint64, 6),
		ResponsesOut: make(map[string]uint64, 6),
		Refused:      make(map[string]uint64, int(numReasons)),

		ParseErrors:         c.parseErrors.Load(),
		LogRecordsDropped:   c.logsDropped.Load(),
		TCPRefused:          c.tcpRefused.Load(),
		ProgressDropped:     c.progressLost.Load(),
		InboundCallsActive:  c.inboundActive.Load(),
		OutboundCallsActive: c.outboundActive.Load(),
		DialogsActive:       c.dialogsActive.Load(),
		InboundCallsTotal:   c.inboundTotal.Load(),
		OutboundCallsTotal:  c.outboundTotal.Load(),
		Registrations:       c.registrations.Load(),
	}
	for i, m := range methodNames {
		st.RequestsIn[m] = c.requestsIn[i].Load()
		st.RequestsOut[m] = c.requestsOut[i].Load()
	}
	classes := [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"}
	for i := 1; i <= 6; i++ {
		st.ResponsesIn[classes[i]] = c.responsesIn[i].Load()
		st.ResponsesOut[classes[i]] = c.responsesOut[i].Load()
	}
	for r := Reason(0); r < numReasons; r++ {
		st.Refused[r.String()] = c.refused[r].Load()
	}
	return st
}
