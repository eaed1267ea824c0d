package callswitch

import (
	"errors"
	"fmt"
	"net/http"
)

// Call statuses (twilio-voice.md §3.5) and Twilio directions.
const (
	StatusQueued     = "queued"
	StatusInitiated  = "initiated"
	StatusRinging    = "ringing"
	StatusInProgress = "in-progress"
	StatusCompleted  = "completed"
	StatusBusy       = "busy"
	StatusFailed     = "failed"
	StatusNoAnswer   = "no-answer"
	StatusCanceled   = "canceled"

	DirectionInbound      = "inbound"
	DirectionOutboundAPI  = "outbound-api"
	DirectionOutboundDial = "outbound-dial"
)

// terminal reports whether a status is final.
func terminal(status string) bool {
	switch status {
	case StatusCompleted, StatusBusy, StatusFailed, StatusNoAnswer, StatusCanceled:
		return true
	}
	return false
}

// statusFromSIP maps an outbound leg's final SIP answer to its CallStatus
// (and the parent's DialCallStatus), as twilio-voice.md §8.2 recommends:
// 2xx completed; 486/600 busy; 408/480/487/603 no-answer; anything else
// (404, 484, 5xx, other 4xx/6xx, no response) failed.
func statusFromSIP(code int) string {
	switch {
	case code >= 200 && code < 300:
		return StatusCompleted
	case code == 486 || code == 600:
		return StatusBusy
	case code == 408 || code == 480 || code == 487 || code == 603:
		return StatusNoAnswer
	default:
		return StatusFailed
	}
}

// Twilio error codes the switch records on calls (twilio-voice.md §8.3).
const (
	codeSchemaWarning    = 12200
	codeDocumentParse    = 12100
	codeInternal         = 12400
	codeApplicationLoop  = 12400
	codeNotInProgress    = 21220
	codeInvalidTo        = 21211
	codeNoRoute          = 13224
	codeDialParameters   = 21237 // over the custom-parameter guideline
	codeAppConnectDenied = 21218
)

// apiError is an error the control API shows as Twilio's error body. It
// implements control's TwilioError interface without importing control.
type apiError struct {
	status  int
	code    int
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.code, e.message) }

// TwilioError classifies the error for the REST API.
func (e *apiError) TwilioError() (httpStatus, code int, message string) {
	return e.status, e.code, e.message
}

var (
	// ErrCallNotFound: no live call with that SID.
	ErrCallNotFound = &apiError{http.StatusNotFound, 20404, "The requested resource was not found"}
	// ErrNotInProgress: the call cannot be redirected or cancelled now.
	ErrNotInProgress = &apiError{http.StatusBadRequest, codeNotInProgress, "Call is not in-progress. Cannot redirect."}
	// ErrDraining: the node is shutting down and takes no new calls.
	ErrDraining = &apiError{http.StatusServiceUnavailable, 20003, "tandem is draining and takes no new calls"}
)

// badRequest is a 400 with a Twilio code.
func badRequest(code int, format string, args ...any) error {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

// isAPIError reports whether err carries its own REST classification.
func isAPIError(err error) bool {
	var e *apiError
	return errors.As(err, &e)
}
