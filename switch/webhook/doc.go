// Package webhook is the HTTP client tandem uses to talk to applications: it
// fetches TwiML and delivers status callbacks the way Twilio does (request
// parameters, X-Twilio-Signature, timeouts, retries, fallback URLs and the
// #ct/#rt/#tt/#rc/#rp fragment overrides). The rules it implements are in
// shared/twilio-voice.md §0, §3, §4 and §8.3.
//
// One Client serves the whole process:
//
//	c, err := webhook.New(cfg, webhook.WithLogger(log))
//	defer c.Close()
//	jar := webhook.NewCookieJar() // one per call
//	resp, err := c.FetchWithFallback(ctx, webhook.Request{
//		URL: app.VoiceURL, Method: app.VoiceMethod, Params: params,
//		AuthToken: account.AuthToken, Cookies: jar,
//		FallbackURL: app.VoiceFallbackURL, FallbackMethod: app.VoiceFallbackMethod,
//	})
//	// resp.Kind: KindTwiML (parse resp.Body), KindText (say it),
//	// KindAudio (play resp.URL); resolve relative URLs in the document
//	// with ResolveURL(resp.URL, ref).
//	c.Notify(webhook.Callback{CallSid: sid, SequenceNumber: n, URL: cbURL, Params: p, AuthToken: tok})
//
// Every error is an *Error that carries the Twilio error code, the HTTP
// status and whether the fallback applies; see Error for the code choices.
//
// HTTP/1.1 framing is fasthttp's (request writing, response parsing, chunked
// bodies, the body limit); connections are pooled per scheme://host:port by
// this package, which is what lets ct, rt and tt act per request (see
// pool.go). Steady-state cost of a fetch is two allocations: the Response
// and its body.
//
// Not implemented: response caching of GET documents (Twilio caches GETs by
// ETag/Last-Modified; every fetch here goes to the application), the #sni,
// #e and #r fragment keys (accepted and ignored), HTTP Digest
// authentication (URL credentials are sent as Basic, preemptively), and
// JSON-bodied webhooks (§4.2; voice webhooks are form-encoded).
package webhook
