package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Request is one logical request to an application.
type Request struct {
	// URL may carry #ct=..&rt=..&tt=..&rc=..&rp=.. overrides (§3.1); the
	// fragment is never sent nor signed. user:pass@ credentials are sent as
	// HTTP Basic authorization (preemptively) and never signed.
	URL string
	// Method is GET or POST (any case); empty means POST, Twilio's default.
	// POST sends Params form-encoded; GET appends them to the URL's query
	// string, whose own parameters are kept.
	Method string
	// Params in order; repeated names are allowed (e.g. CallSid, AccountSid,
	// From, To, CallStatus, Direction, ApiVersion, Caller, Called,
	// ParentCallSid, ForwardedFrom, SipHeader_X-*).
	Params []Param
	// AuthToken signs the request (X-Twilio-Signature, §4.1). Empty sends no
	// signature.
	AuthToken string
	// IdempotencyToken is sent as I-Twilio-Idempotency-Token. One token
	// names one logical request: its retries and the redirects it follows
	// carry the same token, so an application can recognise a repeat (§3.1).
	// A fallback request and each status callback are distinct logical
	// requests. Empty: the client generates one.
	IdempotencyToken string
	// Cookies is the call's jar (nil: no cookies kept or sent).
	Cookies *CookieJar

	// FallbackURL and FallbackMethod are used by FetchWithFallback.
	FallbackURL    string
	FallbackMethod string
}

// Response is a fetched document.
type Response struct {
	Kind        Kind
	Body        []byte // nil for KindAudio
	ContentType string // media type, lower case, without parameters
	StatusCode  int
	// URL is the document URL: the URL that answered (after redirects),
	// without fragment. Resolve relative attribute URLs against it
	// (ResolveURL); for KindAudio it is the URL to play.
	URL       string
	Attempts  int // HTTP requests made, including retries and redirects
	Redirects int

	// Primary is set when this response came from the fallback URL: the
	// primary URL's error that triggered the fallback.
	Primary *Error
}

// mode selects what counts as success.
type mode uint8

const (
	modeFetch    mode = iota // TwiML: 2xx with a TwiML content type; follow redirects
	modeCallback             // status callback: any 2xx/3xx; body ignored
)

// exchange is the pooled per-request state: the fasthttp request and
// response and the buffers the request is built in.
type exchange struct {
	req     fasthttp.Request
	resp    fasthttp.Response
	uri     []byte // request-target
	signURL []byte
	body    []byte
	hdr     []byte // scratch for header values
	token   []byte
	audio   bool // body not read (audio): connection closed
	tooBig  bool // body over the limit: connection closed
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

func getExchange() *exchange { return exchangePool.Get().(*exchange) }

func putExchange(ex *exchange) {
	ex.req.Reset()
	ex.resp.Reset()
	if cap(ex.body) > 64<<10 || cap(ex.uri) > 64<<10 {
		return
	}
	exchangePool.Put(ex)
}

// Fetch requests r.URL and returns the document (twilio-voice.md §0, §3).
// It retries per the URL's #rc/#rp within #tt (and the hard cap), follows
// up to MaxRedirects redirects, and keeps cookies in r.Cookies. Every error
// is an *Error.
func (c *Client) Fetch(ctx context.Context, r Request) (*Response, error) {
	start := c.now()
	c.stats.fetches.Add(1)
	resp, err := c.run(ctx, &r, modeFetch)
	c.stats.observeLatency(c.now().Sub(start))
	if err != nil {
		c.stats.fail(err.Code)
		c.log.Debug("webhook fetch failed", "url", err.URL, "code", err.Code,
			"http_status", err.HTTPStatus, "attempts", err.Attempts, "err", err.Err)
		return nil, err
	}
	c.stats.fetchOK.Add(1)
	return resp, nil
}

// normMethod returns the canonical method.
func normMethod(m string) (string, bool) {
	switch {
	case m == "" || strings.EqualFold(m, fasthttp.MethodPost):
		return fasthttp.MethodPost, true
	case strings.EqualFold(m, fasthttp.MethodGet):
		return fasthttp.MethodGet, true
	}
	return "", false
}

// attemptResult is the outcome of one HTTP request.
type attemptResult struct {
	fail  *Error  // nil: ex.resp holds a response to judge
	class RetryOn // which #rp condition the failure falls under
}

// run is the engine behind Fetch and callback delivery.
func (c *Client) run(ctx context.Context, r *Request, m mode) (*Response, *Error) {
	if m == modeFetch && c.closed.Load() {
		// Callbacks still drain after Close; fetches stop.
		return nil, newError(CodeRetrievalFailure, RedactURL(r.URL), 0, 0, ErrClosed)
	}
	start := c.now()
	t, err := parseTarget(r.URL)
	if err != nil {
		return nil, newError(CodeInvalidURL, RedactURL(r.URL), 0, 0, wrapf(ErrInvalidURL, "%v", err))
	}
	method, ok := normMethod(r.Method)
	if !ok {
		return nil, newError(CodeInvalidURL, RedactURL(r.URL), 0, 0, wrapf(ErrInvalidMethod, "%q", r.Method))
	}
	ov := ParseOverrides(t.fragment, c.defaults)
	deadline := start.Add(min(ov.Total, c.cfg.HardTimeout))
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}

	ex := getExchange()
	defer putExchange(ex)
	ex.token = ex.token[:0]
	if r.IdempotencyToken != "" && validToken(r.IdempotencyToken) {
		ex.token = append(ex.token, r.IdempotencyToken...)
	} else {
		ex.token = c.appendToken(ex.token)
	}

	cur := t
	curMethod := method
	appendParams := method == fasthttp.MethodGet
	attempts, redirects := 0, 0
	docURL := t.noFrag
	for {
		c.buildRequest(ex, &cur, curMethod, appendParams, r)
		retries := 0
		var res attemptResult
		for {
			res = c.attempt(ctx, ex, &cur, ov, deadline, m, r.Cookies)
			attempts++
			if res.fail == nil {
				res = c.judgeStatus(ex, &cur, m)
			}
			if res.fail == nil {
				break
			}
			if res.class&ov.RetryOn != 0 && retries < ov.Retries && c.now().Before(deadline) && ctx.Err() == nil {
				retries++
				c.stats.retries.Add(1)
				c.log.Debug("webhook retry", "url", res.fail.URL, "code", res.fail.Code,
					"http_status", res.fail.HTTPStatus, "retry", retries, "err", res.fail.Err)
				continue
			}
			res.fail.Attempts = attempts
			return nil, res.fail
		}

		status := ex.resp.StatusCode()
		if m == modeFetch && isRedirect(status) {
			loc := ex.resp.Header.Peek(fasthttp.HeaderLocation)
			if redirects >= c.cfg.MaxRedirects {
				return nil, newError(CodeTooManyRedirects, RedactURL(cur.noFrag), status, attempts,
					wrapf(ErrTooManyRedirects, "more than %d", c.cfg.MaxRedirects))
			}
			next, err := ResolveURL(cur.noFrag, string(loc))
			if err != nil {
				return nil, newError(CodeProtocolViolation, RedactURL(cur.noFrag), status, attempts,
					wrapf(ErrProtocol, "bad Location header: %v", err))
			}
			nt, err := parseTarget(next)
			if err != nil {
				return nil, newError(CodeInvalidURL, RedactURL(next), status, attempts, wrapf(ErrInvalidURL, "%v", err))
			}
			redirects++
			c.stats.redirects.Add(1)
			// RFC 9110 §15.4: 307/308 repeat the method and body. 301/302/303
			// turn a POST into a GET; the webhook parameters then travel in
			// the query string, as on a GET webhook, so the application
			// still receives them. A GET's redirect is followed as given
			// (its parameters were already in the URL the server saw).
			switch {
			case curMethod == fasthttp.MethodGet:
				appendParams = false
			case status == fasthttp.StatusTemporaryRedirect || status == fasthttp.StatusPermanentRedirect:
			default:
				curMethod, appendParams = fasthttp.MethodGet, true
			}
			cur = nt
			docURL = nt.noFrag
			continue
		}
		return c.buildResponse(ex, docURL, attempts, redirects, m)
	}
}

// validToken keeps a caller's token out of the header block unless it is
// printable ASCII (no CR/LF injection); an invalid one is replaced.
func validToken(s string) bool {
	if len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func isRedirect(status int) bool {
	switch status {
	case fasthttp.StatusMovedPermanently, fasthttp.StatusFound, fasthttp.StatusSeeOther,
		fasthttp.StatusTemporaryRedirect, fasthttp.StatusPermanentRedirect:
		return true
	}
	return false
}

// judgeStatus turns a response status into a failure where it is one.
func (c *Client) judgeStatus(ex *exchange, t *target, m mode) attemptResult {
	status := ex.resp.StatusCode()
	switch {
	case status >= 200 && status < 300:
		return attemptResult{}
	case status >= 300 && status < 400:
		if m == modeCallback {
			return attemptResult{} // §3.4: the response is ignored; 3xx counts as delivered
		}
		if isRedirect(status) && len(ex.resp.Header.Peek(fasthttp.HeaderLocation)) > 0 {
			return attemptResult{}
		}
		return attemptResult{fail: newError(CodeRetrievalFailure, RedactURL(t.noFrag), status, 0,
			wrapf(ErrHTTPStatus, "%d without a usable Location", status))}
	case status >= 400 && status < 500:
		return attemptResult{class: Retry4xx, fail: newError(CodeRetrievalFailure, RedactURL(t.noFrag), status, 0, ErrHTTPStatus)}
	case status >= 500:
		return attemptResult{class: Retry5xx, fail: newError(CodeRetrievalFailure, RedactURL(t.noFrag), status, 0, ErrHTTPStatus)}
	}
	return attemptResult{class: retryOther, fail: newError(CodeProtocolViolation, RedactURL(t.noFrag), status, 0,
		wrapf(ErrProtocol, "status %d", status))}
}

// buildResponse checks the content type and size rules of §0 and copies the
// body out of the pooled exchange.
func (c *Client) buildResponse(ex *exchange, docURL string, attempts, redirects int, m mode) (*Response, *Error) {
	status := ex.resp.StatusCode()
	resp := &Response{StatusCode: status, URL: docURL, Attempts: attempts, Redirects: redirects}
	if m == modeCallback {
		return resp, nil
	}
	ct := ex.resp.Header.ContentType()
	kind, ok := mediaKind(ct)
	if !ok {
		return nil, newError(CodeContentType, RedactURL(docURL), status, attempts,
			wrapf(ErrContentType, "%q", truncate(ct, 64)))
	}
	resp.Kind = kind
	resp.ContentType = contentTypeString(ct)
	if kind == KindAudio {
		return resp, nil
	}
	if ex.tooBig {
		return nil, newError(CodeBodyTooLarge, RedactURL(docURL), status, attempts,
			wrapf(ErrBodyTooLarge, "over %d bytes", c.cfg.MaxBodySize))
	}
	resp.Body = append([]byte(nil), ex.resp.Body()...)
	if kind == KindText && isTwiMLDocument(resp.Body) {
		resp.Kind = KindTwiML
	}
	return resp, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// buildRequest writes the request line, headers, body and signature for the
// current hop. Retries of the hop send it unchanged (same token).
func (c *Client) buildRequest(ex *exchange, t *target, method string, appendParams bool, r *Request) {
	req := &ex.req
	req.Reset()
	req.Header.SetMethod(method)

	// Request-target: the path and query as configured ("/" for an empty
	// path), plus the parameters on a GET.
	ex.uri = ex.uri[:0]
	if t.pathQuery == "" || t.pathQuery[0] == '?' {
		ex.uri = append(ex.uri, '/')
	}
	ex.uri = append(ex.uri, t.pathQuery...)
	var bodyParams []Param
	if method == fasthttp.MethodGet {
		if appendParams && len(r.Params) > 0 {
			switch q := strings.IndexByte(t.pathQuery, '?'); {
			case q < 0:
				ex.uri = append(ex.uri, '?')
			case q < len(t.pathQuery)-1 && !strings.HasSuffix(t.pathQuery, "&"):
				ex.uri = append(ex.uri, '&')
			}
			ex.uri = appendForm(ex.uri, r.Params)
		}
	} else {
		bodyParams = r.Params
		ex.body = appendForm(ex.body[:0], r.Params)
		req.SetBodyRaw(ex.body)
		req.Header.SetContentType("application/x-www-form-urlencoded")
	}
	req.Header.SetRequestURIBytes(ex.uri)
	req.Header.SetHost(t.hostport)
	req.Header.SetUserAgent(c.cfg.UserAgent)
	req.Header.Set(fasthttp.HeaderAccept, "*/*")
	req.Header.SetBytesV("I-Twilio-Idempotency-Token", ex.token)

	// §4.1: the URL as requested, without fragment and credentials; for a
	// POST the sorted body parameters are appended; for a GET they are in
	// the URL already.
	if r.AuthToken != "" {
		ex.signURL = append(ex.signURL[:0], t.scheme...)
		ex.signURL = append(ex.signURL, "://"...)
		ex.signURL = append(ex.signURL, t.hostport...)
		ex.signURL = append(ex.signURL, ex.uri...)
		ex.hdr = appendSignatureBytes(ex.hdr[:0], r.AuthToken, ex.signURL, bodyParams)
		req.Header.SetBytesV("X-Twilio-Signature", ex.hdr)
	}
	if t.userinfo != "" {
		ex.hdr = appendBasicAuth(ex.hdr[:0], t.userinfo)
		req.Header.SetBytesV(fasthttp.HeaderAuthorization, ex.hdr)
	}
}

// appendBasicAuth encodes URL credentials as an RFC 7617 Authorization value.
func appendBasicAuth(dst []byte, userinfo string) []byte {
	user, pass, _ := strings.Cut(userinfo, ":")
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	if p, err := url.PathUnescape(pass); err == nil {
		pass = p
	}
	dst = append(dst, "Basic "...)
	return base64.StdEncoding.AppendEncode(dst, []byte(user+":"+pass))
}

// appendForm appends params as application/x-www-form-urlencoded.
func appendForm(dst []byte, params []Param) []byte {
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendQueryEscape(dst, p.Name)
		dst = append(dst, '=')
		dst = appendQueryEscape(dst, p.Value)
	}
	return dst
}

// appendQueryEscape is url.QueryEscape without the allocation.
func appendQueryEscape(dst []byte, s string) []byte {
	const hexUpper = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

// attempt sends the built request once and reads the response headers (and
// the body unless it is audio or over the limit).
func (c *Client) attempt(ctx context.Context, ex *exchange, t *target, ov Overrides, deadline time.Time, m mode, jar *CookieJar) attemptResult {
	now := c.now()
	if !now.Before(deadline) {
		return c.timeoutResult(ctx, t, ov)
	}
	c.stats.attempts.Add(1)
	connectDeadline := now.Add(ov.Connect)
	if deadline.Before(connectDeadline) {
		connectDeadline = deadline
	}
	p := c.pool(t)
	allowIdle := true
	for {
		cn, reused, err := p.get(ctx, c, connectDeadline, allowIdle)
		if err != nil {
			return c.dialFailure(ctx, t, ov, deadline, err)
		}
		if jar != nil {
			ex.req.Header.Del(fasthttp.HeaderCookie)
			if ex.hdr = jar.appendCookieHeader(ex.hdr[:0], t, c.now()); len(ex.hdr) > 0 {
				ex.req.Header.SetBytesV(fasthttp.HeaderCookie, ex.hdr)
			}
		}
		cn.startAttempt(c.now, ov.Read, deadline)
		var stop func() bool
		if ctx.Done() != nil {
			stop = context.AfterFunc(ctx, cn.cancel)
		}
		err = c.roundTrip(ex, cn, ov, deadline, m)
		if stop != nil && !stop() {
			// The cancellation ran: the connection's deadline is spent.
			p.closeConn(cn)
			return c.ioFailure(ctx, t, ov, deadline, cn, ctx.Err())
		}
		if err != nil {
			p.closeConn(cn)
			// A keep-alive connection the server closed while idle fails
			// before the first response byte: send once more on a new
			// connection (not a retry: the server never saw the request).
			if reused && cn.nread == 0 && !isTimeout(err) && !isTimeout(cn.readErr) && ctx.Err() == nil {
				c.stats.staleConns.Add(1)
				allowIdle = false
				continue
			}
			return c.ioFailure(ctx, t, ov, deadline, cn, err)
		}
		if jar != nil {
			for _, v := range ex.resp.Header.Cookies() {
				jar.setCookie(t, v, c.now())
			}
		}
		if ex.audio || ex.tooBig || ex.resp.ConnectionClose() {
			p.closeConn(cn)
		} else {
			p.put(cn, c.now())
		}
		return attemptResult{}
	}
}

// roundTrip writes the request and reads the response on cn.
func (c *Client) roundTrip(ex *exchange, cn *conn, ov Overrides, deadline time.Time, m mode) error {
	ex.audio, ex.tooBig = false, false
	wd := c.now().Add(ov.Read)
	if deadline.Before(wd) {
		wd = deadline
	}
	if err := cn.nc.SetWriteDeadline(wd); err != nil {
		cn.writeErr = err
		return err
	}
	err := ex.req.Write(cn.bw)
	if err == nil {
		err = cn.bw.Flush()
	}
	if err != nil {
		cn.writeErr = err
		return err
	}
	resp := &ex.resp
	resp.Reset()
	resp.Header.SetNoDefaultContentType(true) // a missing Content-Type is 12300, not text/plain
	if err := resp.Header.Read(cn.br); err != nil {
		return err
	}
	for resp.StatusCode() >= 100 && resp.StatusCode() < 200 { // interim responses
		if err := resp.Header.Read(cn.br); err != nil {
			return err
		}
	}
	status := resp.StatusCode()
	if status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified {
		return nil
	}
	if m == modeFetch && status >= 200 && status < 300 {
		if k, ok := mediaKind(resp.Header.ContentType()); ok && k == KindAudio {
			ex.audio = true // §0: audio is played from the URL, not read here
			return nil
		}
	}
	err = resp.ReadBody(cn.br, c.cfg.MaxBodySize)
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		// Stop at the limit (11750); the status and headers stand.
		ex.tooBig = true
		return nil
	}
	if err == nil && resp.Header.ContentLength() == -1 {
		err = resp.Header.ReadTrailer(cn.br)
	}
	return err
}

func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// timeoutResult is the failure when the total budget ran out.
func (c *Client) timeoutResult(ctx context.Context, t *target, ov Overrides) attemptResult {
	if errors.Is(ctx.Err(), context.Canceled) {
		return attemptResult{fail: newError(CodeRetrievalFailure, RedactURL(t.noFrag), 0, 0, ctx.Err())}
	}
	code := CodeConnectionFailure
	if ov.TotalSet {
		code = CodeTotalTimeout
	}
	return attemptResult{class: RetryRead, fail: newError(code, RedactURL(t.noFrag), 0, 0, ErrTotalTimeout)}
}

// dialFailure classifies a failure to get a connection.
func (c *Client) dialFailure(ctx context.Context, t *target, ov Overrides, deadline time.Time, err error) attemptResult {
	u := RedactURL(t.noFrag)
	if errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled) {
		return attemptResult{fail: newError(CodeRetrievalFailure, u, 0, 0, context.Canceled)}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return attemptResult{class: RetryConnect, fail: newError(CodeBadHostName, u, 0, 0, err)}
	}
	var de *dialError
	if errors.As(err, &de) && de.tls && !isTimeout(de.err) {
		return attemptResult{class: RetryConnect, fail: newError(tlsCode(de.err), u, 0, 0, err)}
	}
	if isTimeout(err) {
		if !c.now().Before(deadline) {
			return c.timeoutResult(ctx, t, ov)
		}
		return attemptResult{class: RetryConnect, fail: newError(CodeConnectionFailure, u, 0, 0,
			wrapf(ErrConnectTimeout, "%v", err))}
	}
	return attemptResult{class: RetryConnect, fail: newError(CodeConnectionFailure, u, 0, 0, err)}
}

// tlsCode maps certificate problems to Twilio's 1123x codes.
func tlsCode(err error) int {
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &hostErr):
		return CodeCertDomain
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return CodeCertExpired
	case errors.As(err, &unknown):
		return CodeCertUnknownCA
	case errors.As(err, &verify):
		return CodeCertUnknownCA
	}
	return CodeTLSHandshake
}

// ioFailure classifies a failure after the connection was established.
func (c *Client) ioFailure(ctx context.Context, t *target, ov Overrides, deadline time.Time, cn *conn, err error) attemptResult {
	u := RedactURL(t.noFrag)
	switch ctxErr := ctx.Err(); {
	case errors.Is(ctxErr, context.Canceled):
		return attemptResult{fail: newError(CodeRetrievalFailure, u, 0, 0, context.Canceled)}
	case ctxErr != nil: // the caller's deadline: a total timeout
		return c.timeoutResult(ctx, t, ov)
	}
	if isTimeout(err) || isTimeout(cn.readErr) {
		if !c.now().Before(deadline) {
			return c.timeoutResult(ctx, t, ov)
		}
		return attemptResult{class: RetryRead, fail: newError(CodeConnectionFailure, u, 0, 0,
			wrapf(ErrReadTimeout, "no data for %s", ov.Read))}
	}
	if cn.writeErr != nil {
		// The connection broke before the request was delivered.
		return attemptResult{class: retryOther, fail: newError(CodeConnectionFailure, u, 0, 0, err)}
	}
	if cn.readErr == nil {
		// The bytes arrived but did not parse as an HTTP response.
		return attemptResult{class: retryOther, fail: newError(CodeProtocolViolation, u, 0, 0,
			wrapf(ErrProtocol, "%v", err))}
	}
	return attemptResult{class: retryOther, fail: newError(CodeRetrievalFailure, u, 0, 0, err)}
}
