package sipstack

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by the stack wrap these with context.
var (
	ErrClosed           = errors.New("sipstack: stack closed")
	ErrNoRoute          = errors.New("sipstack: no outbound trunk serves this number")
	ErrBadTarget        = errors.New("sipstack: bad dial target")
	ErrHeaderNotAllowed = errors.New("sipstack: header may not be set by the application")
	ErrHeadersTooLong   = errors.New("sipstack: URI headers longer than 1024 characters")
	ErrCanceled         = errors.New("sipstack: call canceled by the caller")
	ErrCallEnded        = errors.New("sipstack: call already ended")
	ErrNotEstablished   = errors.New("sipstack: dialog not established")
	ErrAlreadyAnswered  = errors.New("sipstack: final response already sent")
	ErrNoACK            = errors.New("sipstack: no ACK for 2xx within 64*T1")
	ErrTimeout          = errors.New("sipstack: transaction timed out")
	ErrTransport        = errors.New("sipstack: transport error")
	ErrPending          = errors.New("sipstack: another INVITE is in progress on this dialog")
	ErrBadSDP           = errors.New("sipstack: malformed SDP")
	ErrBadCode          = errors.New("sipstack: status code not allowed here")
)

// StatusError is a SIP failure response (or a local failure mapped to a SIP
// code). It is the one place where a failure classifies itself.
type StatusError struct {
	Code    int
	Reason  string
	Headers []Header
	// Err is the local cause (ErrTimeout, ErrTransport, ErrCanceled) when the
	// code was not received from the peer but synthesized: timeouts map to
	// 408, transport errors to 503, our own CANCEL to 487.
	Err error
}

func (e *StatusError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("sip %d %s: %v", e.Code, e.Reason, e.Err)
	}
	return fmt.Sprintf("sip %d %s", e.Code, e.Reason)
}

func (e *StatusError) Unwrap() error { return e.Err }

// StatusCode returns the SIP status code that err maps to: the code of a
// StatusError, 408 for timeouts, 487 for cancellation, 503 for transport
// errors and anything else.
func StatusCode(err error) int {
	if err == nil {
		return 200
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	switch {
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return 408
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return 487
	}
	return 503
}

// EndCause says why a call or dialog ended.
type EndCause int

const (
	EndNone      EndCause = iota // still up
	EndRemoteBye                 // the peer sent BYE
	EndLocal                     // Hangup was called (we sent BYE)
	EndCanceled                  // inbound: the caller sent CANCEL; outbound: we cancelled
	EndRejected                  // a non-2xx final answer was sent (inbound) or received (outbound)
	EndTimeout                   // no answer, no ACK, or a transaction timed out
	EndTransport                 // the transport failed
	EndShutdown                  // the stack was closed
)

var endCauseNames = [...]string{"none", "remote_bye", "local", "canceled", "rejected", "timeout", "transport", "shutdown"}

func (c EndCause) String() string {
	if int(c) < len(endCauseNames) {
		return endCauseNames[c]
	}
	return fmt.Sprintf("EndCause(%d)", int(c))
}

// End describes how a call ended.
type End struct {
	Cause EndCause
	// Code is the final SIP status of the INVITE (sent for inbound, received
	// or synthesized for outbound); 200 for a call that was answered.
	Code int
	// Headers are the headers of the request or response that ended the
	// call: the peer's BYE, or the final failure response (Twilio reports
	// their X- headers as DialSipHeader_*).
	Headers []Header
}
