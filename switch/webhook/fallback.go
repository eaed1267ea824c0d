package webhook

import (
	"context"
	"errors"
	"strconv"
)

// FetchWithFallback implements the fallback of twilio-voice.md §3.1: it
// fetches r.URL and, when that fails with a fallback-eligible error
// (Error.FallbackEligible: retrieval errors, timeouts, 11215, 11750, 12300)
// and r.FallbackURL is set, immediately requests the fallback URL with the
// same parameters plus ErrorCode and ErrorUrl (FetchFallback). A response
// from the fallback has Primary set. If the fallback fails too, the
// fallback's *Error is returned with Primary set to the primary's.
//
// The primary's body is parsed by the caller, so a TwiML parse failure
// (12100) of a successful fetch is the caller's to act on: it calls
// FetchFallback(ctx, r, CodeDocumentParse).
func (c *Client) FetchWithFallback(ctx context.Context, r Request) (*Response, error) {
	resp, err := c.Fetch(ctx, r)
	if err == nil || r.FallbackURL == "" {
		return resp, err
	}
	var primary *Error
	if !errors.As(err, &primary) || !primary.FallbackEligible() {
		return nil, err
	}
	return c.fetchFallback(ctx, r, primary)
}

// FetchFallback requests r.FallbackURL (with r.FallbackMethod, POST by
// default) for a primary request that failed with Twilio error code, as
// FallbackRequest builds it. Use it when the failure is found after the
// fetch, such as a TwiML parse failure (12100).
func (c *Client) FetchFallback(ctx context.Context, r Request, code int) (*Response, error) {
	return c.fetchFallback(ctx, r, &Error{Code: code, URL: RedactURL(r.URL)})
}

func (c *Client) fetchFallback(ctx context.Context, r Request, primary *Error) (*Response, error) {
	c.stats.fallbacks.Add(1)
	fb := FallbackRequest(r, primary.Code)
	resp, err := c.Fetch(ctx, fb)
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			fe.Primary = primary
		}
		return nil, err
	}
	c.stats.fallbackOK.Add(1)
	resp.Primary = primary
	return resp, nil
}

// FallbackRequest builds the request for r's fallback URL after the primary
// failed with code: the same parameters plus ErrorCode and ErrorUrl (the
// primary URL without fragment and credentials), r.FallbackMethod, the same
// signing key and cookie jar, and a new idempotency token (it is a different
// logical request). Its own FallbackURL is empty, so it cannot chain.
func FallbackRequest(r Request, code int) Request {
	params := make([]Param, 0, len(r.Params)+2)
	params = append(params, r.Params...)
	params = append(params,
		Param{Name: "ErrorCode", Value: strconv.Itoa(code)},
		Param{Name: "ErrorUrl", Value: RedactURL(r.URL)},
	)
	return Request{
		URL:       r.FallbackURL,
		Method:    r.FallbackMethod,
		Params:    params,
		AuthToken: r.AuthToken,
		Cookies:   r.Cookies,
	}
}
