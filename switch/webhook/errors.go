package webhook

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Twilio error codes this package emits (twilio-voice.md §8.3). 12100 is
// emitted by the caller (the TwiML parser) but is listed here because it
// also triggers the fallback URL (§3.1).
const (
	CodeInvalidURL        = 11100 // Invalid URL format
	CodeRetrievalFailure  = 11200 // HTTP retrieval failure (also: the server answered 4xx/5xx)
	CodeTotalTimeout      = 11203 // HTTP communication total time out (an explicit #tt expired)
	CodeConnectionFailure = 11205 // HTTP connection failure (connect failure, connect or read timeout)
	CodeProtocolViolation = 11206 // HTTP protocol violation (unparsable response)
	CodeBadHostName       = 11210 // HTTP bad host name (DNS failure)
	CodeTooManyRedirects  = 11215 // more than MaxRedirects redirects
	CodeHTTPErrorStatus   = 11217 // HTTP error response code; defined for callers, see Error
	CodeTLSHandshake      = 11220 // SSL/TLS handshake error
	CodeCertDomain        = 11235 // Certificate invalid: domain mismatch
	CodeCertExpired       = 11236 // Certificate invalid: expired
	CodeCertUnknownCA     = 11237 // Certificate invalid: could not find path to certificate
	CodeBodyTooLarge      = 11750 // response body over the limit (64 kB)
	CodeDocumentParse     = 12100 // TwiML document parse failure (caller's parser)
	CodeContentType       = 12300 // invalid Content-Type
)

// Sentinel causes wrapped by *Error, for errors.Is.
var (
	ErrClosed           = errors.New("webhook: client closed")
	ErrInvalidURL       = errors.New("invalid webhook URL")
	ErrInvalidMethod    = errors.New("invalid webhook method (want GET or POST)")
	ErrConnectTimeout   = errors.New("connect timeout")
	ErrReadTimeout      = errors.New("read timeout")
	ErrTotalTimeout     = errors.New("total timeout")
	ErrNoFreeConns      = errors.New("no free connection to host")
	ErrHTTPStatus       = errors.New("HTTP error status")
	ErrTooManyRedirects = errors.New("too many redirects")
	ErrBodyTooLarge     = errors.New("response body too large")
	ErrContentType      = errors.New("invalid Content-Type")
	ErrProtocol         = errors.New("HTTP protocol violation")
)

// Error is the one error type of this package. It classifies itself once:
// the Twilio error code (Code), its message (Message), whether the fallback
// URL applies (FallbackEligible) and a low-cardinality metric label (Reason).
//
// Code choices where Twilio leaves room (documented here, relied on by the
// call path):
//   - HTTP 4xx/5xx from the application → 11200 with HTTPStatus set. This is
//     the code Twilio's Voice debugger and the fallback's ErrorCode carry for
//     a failed webhook; 11217 is defined for callers that want the newer code.
//   - connect refused/unreachable and connect timeout → 11205; a read timeout
//     (rt: time to first byte or between packets) → 11205 as well, as Twilio's
//     11205 page covers both timers.
//   - the total budget expiring → 11203 when the URL set #tt explicitly,
//     otherwise 11205 (the default budget is Twilio's 15 s HTTP timer).
//   - DNS failure → 11210; TLS failure → 11220 (11235–11237 for certificate
//     problems); malformed response → 11206; bad Content-Type → 12300; body
//     over the limit → 11750; redirect loop → 11215; bad URL or method → 11100.
type Error struct {
	Code       int    // Twilio error code
	URL        string // the URL requested, without fragment and credentials
	HTTPStatus int    // status of the last response, 0 if none was read
	Attempts   int    // HTTP requests made, including retries and redirects
	Err        error  // cause (wraps one of the ErrX sentinels where one applies)

	// Primary is set on the fallback's error when the fallback URL failed
	// too: it is the primary URL's error that triggered the fallback.
	Primary *Error
}

func (e *Error) Error() string {
	b := make([]byte, 0, 96+len(e.URL))
	b = append(b, "webhook "...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, " ("...)
	b = append(b, e.Message()...)
	b = append(b, ") "...)
	b = append(b, e.URL...)
	if e.HTTPStatus != 0 {
		b = append(b, ": HTTP "...)
		b = strconv.AppendInt(b, int64(e.HTTPStatus), 10)
	}
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

func (e *Error) Unwrap() error { return e.Err }

// Message is Twilio's short description of Code.
func (e *Error) Message() string { return codeMessage(e.Code) }

// FallbackEligible reports whether Twilio would request the fallback URL
// after this error (§3.1: retrieval errors, timeouts, content type, parse
// failures). A canceled context (the call went away) or a closed client is
// not eligible.
func (e *Error) FallbackEligible() bool {
	if e.Err != nil && (errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, ErrClosed)) {
		return false
	}
	switch e.Code {
	case CodeInvalidURL, CodeRetrievalFailure, CodeTotalTimeout, CodeConnectionFailure,
		CodeProtocolViolation, CodeBadHostName, CodeTooManyRedirects, CodeHTTPErrorStatus,
		CodeTLSHandshake, CodeCertDomain, CodeCertExpired, CodeCertUnknownCA,
		CodeBodyTooLarge, CodeDocumentParse, CodeContentType:
		return true
	}
	return false
}

// Reason is a low-cardinality label for metrics and logs.
func (e *Error) Reason() string {
	switch {
	case e.Err != nil && errors.Is(e.Err, context.Canceled):
		return ReasonCanceled
	case e.Err != nil && errors.Is(e.Err, ErrClosed):
		return ReasonClosed
	case e.HTTPStatus >= 400 && e.HTTPStatus < 500:
		return ReasonHTTP4xx
	case e.HTTPStatus >= 500:
		return ReasonHTTP5xx
	}
	switch e.Code {
	case CodeInvalidURL:
		return ReasonInvalidURL
	case CodeTotalTimeout:
		return ReasonTimeout
	case CodeConnectionFailure:
		if e.Err != nil && (errors.Is(e.Err, ErrReadTimeout) || errors.Is(e.Err, ErrTotalTimeout) || errors.Is(e.Err, ErrConnectTimeout)) {
			return ReasonTimeout
		}
		return ReasonConnect
	case CodeBadHostName:
		return ReasonDNS
	case CodeTLSHandshake, CodeCertDomain, CodeCertExpired, CodeCertUnknownCA:
		return ReasonTLS
	case CodeTooManyRedirects:
		return ReasonRedirects
	case CodeBodyTooLarge:
		return ReasonBodyTooLarge
	case CodeContentType:
		return ReasonContentType
	case CodeProtocolViolation:
		return ReasonProtocol
	}
	return ReasonOther
}

// Metric reason labels (Error.Reason).
const (
	ReasonInvalidURL   = "invalid_url"
	ReasonConnect      = "connect"
	ReasonTimeout      = "timeout"
	ReasonDNS          = "dns"
	ReasonTLS          = "tls"
	ReasonHTTP4xx      = "http_4xx"
	ReasonHTTP5xx      = "http_5xx"
	ReasonRedirects    = "redirects"
	ReasonBodyTooLarge = "body_too_large"
	ReasonContentType  = "content_type"
	ReasonProtocol     = "protocol"
	ReasonCanceled     = "canceled"
	ReasonClosed       = "closed"
	ReasonOther        = "other"
)

func codeMessage(code int) string {
	switch code {
	case CodeInvalidURL:
		return "Invalid URL format"
	case CodeRetrievalFailure:
		return "HTTP retrieval failure"
	case CodeTotalTimeout:
		return "HTTP communication total time out triggered"
	case CodeConnectionFailure:
		return "HTTP connection failure"
	case CodeProtocolViolation:
		return "HTTP protocol violation"
	case CodeBadHostName:
		return "HTTP bad host name"
	case CodeTooManyRedirects:
		return "HTTP too many redirects"
	case CodeHTTPErrorStatus:
		return "HTTP error response code"
	case CodeTLSHandshake:
		return "SSL/TLS handshake error"
	case CodeCertDomain:
		return "Certificate invalid - domain mismatch"
	case CodeCertExpired:
		return "Certificate invalid - certificate expired"
	case CodeCertUnknownCA:
		return "Certificate invalid - could not find path to certificate"
	case CodeBodyTooLarge:
		return "Response body too large"
	case CodeDocumentParse:
		return "Document parse failure"
	case CodeContentType:
		return "Invalid Content-Type"
	}
	return "Webhook error"
}

// newError builds an *Error with a cause formatted like fmt.Errorf.
func newError(code int, url string, status, attempts int, cause error) *Error {
	return &Error{Code: code, URL: url, HTTPStatus: status, Attempts: attempts, Err: cause}
}

func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
