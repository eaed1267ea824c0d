package callswitch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tandem/switch/webhook"
	"tandem/twiml"
)

// docSource is where the next TwiML document comes from: a URL to fetch (the
// voice URL, a Redirect, an action) or an inline document (REST Twiml).
type docSource struct {
	url            string
	method         string
	twiml          []byte
	fallbackURL    string
	fallbackMethod string
	// params are added to the standard parameters (DialCallStatus, …).
	params []webhook.Param
	// status overrides the CallStatus sent (e.g. "ringing" on an inbound
	// call's first request).
	status string
	// parsed is a document already fetched (a referUrl's, requested with
	// the referring call's parameters) and its URL.
	parsed    *twiml.Response
	parsedURL string
}

// errDocument is a TwiML document that could not be fetched or run: the
// call ends as Twilio ends it (an application error).
type errDocument struct {
	code int
	msg  string
	line int
}

func (e *errDocument) Error() string { return fmt.Sprintf("%d: %s", e.code, e.msg) }

// fetch gets and parses the document of src. The result's URL is the
// document URL, against which relative URLs in it resolve (§0).
func (c *Call) fetch(ctx context.Context, src *docSource) (*twiml.Response, string, error) {
	if src.parsed != nil {
		return src.parsed, src.parsedURL, nil
	}
	if src.twiml != nil {
		resp, err := twiml.Parse(src.twiml)
		if err != nil {
			return nil, "", documentError(err)
		}
		return resp, "", nil
	}
	status := src.status
	if status == "" {
		status = c.status()
	}
	req := webhook.Request{
		URL:            src.url,
		Method:         src.method,
		Params:         append(c.params(status), src.params...),
		AuthToken:      c.account.AuthToken,
		Cookies:        c.jar,
		FallbackURL:    src.fallbackURL,
		FallbackMethod: src.fallbackMethod,
	}
	res, err := c.sw.hooks.FetchWithFallback(ctx, req)
	if err != nil {
		c.sw.stats.fetchErrors.Add(1)
		var we *webhook.Error
		if errors.As(err, &we) {
			return nil, "", &errDocument{code: we.Code, msg: we.Message() + ": " + webhook.RedactURL(we.URL)}
		}
		return nil, "", &errDocument{code: 11200, msg: err.Error()}
	}
	if res.Primary != nil {
		c.warn(res.Primary.Code, res.Primary.Message()+": "+webhook.RedactURL(res.Primary.URL)+" (fallback used)", 0)
	}
	doc, perr := c.parseResponse(res)
	if perr == nil {
		return doc, res.URL, nil
	}
	// A primary document that does not parse also goes to the fallback
	// (§3.1: "cannot be fetched or its TwiML cannot run").
	de := documentError(perr)
	if res.Primary == nil && src.fallbackURL != "" {
		var derr *errDocument
		errors.As(de, &derr)
		c.warn(derr.code, derr.msg, derr.line)
		fres, ferr := c.sw.hooks.FetchFallback(ctx, req, derr.code)
		if ferr != nil {
			c.sw.stats.fetchErrors.Add(1)
			return nil, "", de
		}
		doc, perr = c.parseResponse(fres)
		if perr == nil {
			return doc, fres.URL, nil
		}
		return nil, "", documentError(perr)
	}
	return nil, "", de
}

// parseResponse turns a fetched body into TwiML following the content-type
// rules of §0: text that is not TwiML is read aloud and audio is played,
// then the call hangs up; tandem has no text-to-speech or playback yet, so
// both become a hang-up with a warning.
func (c *Call) parseResponse(res *webhook.Response) (*twiml.Response, error) {
	switch res.Kind {
	case webhook.KindTwiML:
		return twiml.Parse(res.Body)
	case webhook.KindText:
		c.warn(codeSchemaWarning, "text/plain response read aloud: <Say> is not supported yet; hanging up", 0)
		return twiml.New(twiml.NewSay(string(res.Body)), twiml.NewHangup()), nil
	case webhook.KindAudio:
		c.warn(codeSchemaWarning, "audio response played: <Play> is not supported yet; hanging up", 0)
		return twiml.New(twiml.NewPlay(res.URL), twiml.NewHangup()), nil
	}
	return nil, &twiml.Error{Code: 12300, Message: "invalid content type " + res.ContentType}
}

func documentError(err error) error {
	var te *twiml.Error
	if errors.As(err, &te) {
		return &errDocument{code: te.Code, msg: te.Message, line: te.Line}
	}
	return &errDocument{code: codeDocumentParse, msg: err.Error()}
}

// run is the life of a controlling call: fetch and execute documents until
// one ends the call or runs out, then end the call.
func (c *Call) run(src *docSource) {
	docs := 0
	first := true
	for src != nil {
		if docs++; docs > c.sw.cfg.MaxDocuments {
			c.tooManyDocuments()
			return
		}
		docCtx, cancel := context.WithCancelCause(c.ctx)
		c.mu.Lock()
		c.docCancel = cancel
		c.mu.Unlock()

		resp, docURL, err := c.fetchDocument(docCtx, src)
		if err == nil {
			src, err = c.execute(docCtx, resp, docURL, first)
		}
		first = false
		if next := c.takeRedirect(docCtx, cancel); next != nil {
			src = next
			continue
		}
		if c.ctx.Err() != nil {
			c.end(context.Cause(c.ctx))
			return
		}
		if err != nil {
			c.documentFailed(err)
			return
		}
	}
	// The document ran out of verbs, or a verb ended the call (which
	// already finished it; end is then a no-op).
	c.end(nil)
}

// tooManyDocuments ends a call that fetched more documents than allowed.
// It and documentFailed run in their own frames: run's frame stays on a
// held call's stack for the whole call (see dialVerb).
//
//go:noinline
func (c *Call) tooManyDocuments() {
	c.warn(codeInternal, fmt.Sprintf("more than %d documents: ending the call (redirect loop?)", c.sw.cfg.MaxDocuments), 0)
	c.end(nil)
}

// documentFailed ends a call whose document could not be fetched, parsed
// or carried out.
//
//go:noinline
func (c *Call) documentFailed(err error) {
	var de *errDocument
	if errors.As(err, &de) {
		c.warn(de.code, de.msg, de.line)
		c.appError(de)
		return
	}
	c.log.Error("twiml", "err", err)
	c.end(err)
}

// fetchDocument fetches and parses a document and records its warnings.
// It and takeRedirect keep their locals out of run's frame, which stays on
// a held call's stack for the whole call (see dialVerb).
//
//go:noinline
func (c *Call) fetchDocument(ctx context.Context, src *docSource) (*twiml.Response, string, error) {
	resp, docURL, err := c.fetch(ctx, src)
	if err != nil {
		return nil, "", err
	}
	for _, w := range resp.Warnings {
		c.warn(w.Code, w.Message, w.Line)
	}
	return resp, docURL, nil
}

// takeRedirect ends a document's context and returns a pending REST
// redirect when that is why the document ended.
func (c *Call) takeRedirect(docCtx context.Context, cancel context.CancelCauseFunc) *docSource {
	cause := context.Cause(docCtx)
	cancel(nil)
	if !errors.Is(cause, errRedirect) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	src := c.pending
	c.pending = nil
	return src
}

// appError ends a call whose document failed: an unanswered call gets the
// configured SIP code, an answered one is hung up; the error is on the
// record.
func (c *Call) appError(de *errDocument) {
	if c.virtual {
		c.finishVirtual(StatusFailed)
		return
	}
	if !c.legAnswered() && c.in != nil {
		c.reject(c.sw.cfg.AppErrorCode, StatusFailed)
		return
	}
	c.end(nil)
}

// execute runs the verbs of one document. It returns the next document
// (Redirect, an action) or nil when the call ended or the document ran
// out.
func (c *Call) execute(ctx context.Context, resp *twiml.Response, docURL string, firstDoc bool) (*docSource, error) {
	for i, v := range resp.Verbs {
		if ctx.Err() != nil {
			return nil, nil
		}
		first := firstDoc && i == 0
		switch v := v.(type) {
		case *twiml.Dial:
			next, ended, err := c.dialVerb(ctx, v, docURL, first)
			if err != nil || next != nil || ended {
				return next, err
			}
		case *twiml.Redirect:
			return redirectVerb(docURL, v)
		case *twiml.Hangup:
			if len(v.Parameters) > 0 {
				c.returnParams(v.Parameters)
			}
			c.hangupVerb()
			return nil, nil
		case *twiml.Reject:
			if len(v.Parameters) > 0 {
				c.returnParams(v.Parameters)
			}
			c.rejectVerb(v)
			return nil, nil
		case *twiml.Pause:
			if !c.pause(ctx, v) {
				return nil, nil
			}
		case *twiml.Refer:
			next, ended, err := c.referVerb(ctx, v, docURL)
			if err != nil || next != nil || ended {
				return next, err
			}
		default:
			c.unsupported(ctx, v)
		}
	}
	return nil, nil
}

// unsupported skips a verb tandem does not carry out yet (those that need
// media playback or detection), with a 12200 warning on the call. Verbs
// that would answer the call on Twilio (§0) still answer it.
func (c *Call) unsupported(ctx context.Context, v twiml.Verb) {
	switch v.(type) {
	case *twiml.Say, *twiml.Play, *twiml.Gather, *twiml.Record, *twiml.Connect, *twiml.Enqueue:
		if err := c.answer(ctx); err != nil {
			c.log.Debug("answer", "err", err)
		}
	}
	line := 0
	if n, ok := v.(twiml.Node); ok {
		line = n.SourceLine()
	}
	c.warn(codeSchemaWarning, fmt.Sprintf("<%s> is not supported yet: skipped", v.Tag()), line)
}

// pause waits length seconds. It never answers: as the first verb of an
// inbound call it delays the answer until the next verb (§0).
func (c *Call) pause(ctx context.Context, p *twiml.Pause) bool {
	t := time.NewTimer(p.Length)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// redirectVerb is the document a <Redirect> leads to (in its own frame, as
// tooManyDocuments).
//
//go:noinline
func redirectVerb(docURL string, v *twiml.Redirect) (*docSource, error) {
	u, err := webhook.ResolveURL(docURL, v.URL)
	if err != nil {
		return nil, &errDocument{code: 11100, msg: fmt.Sprintf("<Redirect> URL %q: %v", v.URL, err), line: v.Line}
	}
	return &docSource{url: u, method: v.Method}, nil
}
