package callswitch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"tandem/rtpengine"
	"tandem/sipstack"
	"tandem/twiml"
)

// OriginateRequest is a validated REST call creation (twilio-voice.md §7.4);
// control validates the parameters, cmd/tandem adapts its type to this one.
type OriginateRequest struct {
	AccountSID string
	To         string // E.164, sip:…[?headers], client:identity[?params]
	From       string
	// Exactly one of URL, Twiml and Application.
	URL         string
	Method      string
	Twiml       string
	Application *Application

	FallbackURL          string
	FallbackMethod       string
	StatusCallback       string
	StatusCallbackMethod string
	StatusCallbackEvents []string
	Timeout              time.Duration // ring timeout (default 60 s)
	TimeLimit            time.Duration // 0: the configured maximum
	SIPAuthUsername      string
	SIPAuthPassword      string
	CallerID             string
}

// UpdateRequest is a validated REST call update: a redirect (URL or Twiml),
// or Status completed/canceled.
type UpdateRequest struct {
	AccountSID           string
	CallSID              string
	URL                  string
	Method               string
	Twiml                string
	Status               string
	FallbackURL          string
	FallbackMethod       string
	StatusCallback       string
	StatusCallbackMethod string
	TimeLimit            time.Duration
}

// parseEvents reads REST StatusCallbackEvent values; the default is
// completed (§3.4).
func parseEvents(names []string) twiml.CallEvents {
	var ev twiml.CallEvents
	for _, n := range names {
		for _, f := range strings.Fields(strings.ReplaceAll(n, ",", " ")) {
			switch strings.ToLower(f) {
			case "initiated":
				ev |= twiml.CallInitiated
			case "ringing":
				ev |= twiml.CallRinging
			case "answered":
				ev |= twiml.CallAnswered
			case "completed":
				ev |= twiml.CallCompleted
			}
		}
	}
	if ev == 0 {
		ev = twiml.CallCompleted
	}
	return ev
}

// Originate starts an outbound-api call: the record comes back at once with
// status queued; the INVITE goes out on the call's own goroutine, and once
// the far end answers, the call's TwiML runs on that leg.
func (s *Switch) Originate(ctx context.Context, req OriginateRequest) (CallRecord, error) {
	if s.draining.Load() {
		return CallRecord{}, ErrDraining
	}
	acct, err := s.dir.Account(ctx, req.AccountSID)
	if err != nil {
		return CallRecord{}, fmt.Errorf("originate: account %s: %w", req.AccountSID, err)
	}
	c := s.newCall(nil, DirectionOutboundAPI)
	s.stats.outboundAPI.Add(1)
	c.account = acct
	c.from = req.From
	if req.CallerID != "" {
		c.from = req.CallerID
	}
	ts, to, appParams := c.apiTargets(req)
	c.to = to
	src := &docSource{url: req.URL, method: req.Method, fallbackURL: req.FallbackURL, fallbackMethod: req.FallbackMethod}
	c.cb = statusCallback{url: req.StatusCallback, method: req.StatusCallbackMethod, events: parseEvents(req.StatusCallbackEvents)}
	switch {
	case req.Application != nil:
		// The application's URLs and callbacks win (§7.4).
		app := *req.Application
		c.app = app
		src = &docSource{url: app.VoiceURL, method: app.VoiceMethod, fallbackURL: app.VoiceFallbackURL, fallbackMethod: app.VoiceFallbackMethod}
		c.cb = statusCallback{url: app.StatusCallback, method: app.StatusCallbackMethod, events: twiml.CallCompleted}
	case req.Twiml != "":
		src = &docSource{twiml: []byte(req.Twiml)}
	}
	if src.url != "" && len(appParams) > 0 {
		// client:alice?k=v parameters also reach the application (§6).
		src.url = queryAppend(src.url, appParams)
	}
	c.timeLimit = req.TimeLimit
	if c.timeLimit <= 0 || c.timeLimit > s.cfg.MaxCallDuration {
		c.timeLimit = s.cfg.MaxCallDuration
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	now := s.now()
	c.mu.Lock()
	c.rec.AccountSID = acct.SID
	c.rec.From, c.rec.To = c.from, c.to
	c.rec.Status = StatusQueued
	c.rec.DateCreated, c.rec.DateUpdated = now, now
	rec := c.rec
	c.mu.Unlock()
	c.save(rec)
	for i := range ts {
		ts[i].username, ts[i].password = req.SIPAuthUsername, req.SIPAuthPassword
	}
	go c.originate(ts, timeout, src)
	return rec, nil
}

// apiTargets resolves a REST To: a number through the trunks, a SIP URI
// with its headers, or every registered contact of a client. It also
// returns the To to report and a client's custom parameters.
func (c *Call) apiTargets(req OriginateRequest) ([]dialTarget, string, []twiml.Parameter) {
	to := req.To
	switch {
	case strings.HasPrefix(to, "sip:") || strings.HasPrefix(to, "sips:"):
		base, query, _ := strings.Cut(to, "?")
		t := dialTarget{kind: "sip", target: base, to: base}
		// §6: To=sip:bob@example.com?k=v puts the parameters on the INVITE
		// as headers.
		if query != "" {
			t.headers = queryHeaders(query)
			c.checkCustomParams(headerBytes(t.headers))
		}
		return []dialTarget{t}, base, nil
	case strings.HasPrefix(to, "client:"):
		ident, query, _ := strings.Cut(strings.TrimPrefix(to, "client:"), "?")
		params := queryParams(query)
		return c.clientTargets(&twiml.Client{Identity: ident, Parameters: params}, ""), "client:" + ident, params
	}
	num := normalizeNumber(to)
	t := dialTarget{kind: "number", target: num, to: num}
	if !isE164(num) {
		t.fail, t.failCode = fmt.Sprintf("To %q is not a phone number", to), codeInvalidTo
	}
	return []dialTarget{t}, num, nil
}

// queryHeaders turns "k=v&X-a=b" into headers; names without X- get it
// added, except User-to-User and the identity headers Twilio passes as they
// are (§2.6).
func queryHeaders(query string) []sipstack.Header {
	var hs []sipstack.Header
	for _, p := range queryParams(query) {
		name := p.Name
		if !isXHeader(name) && !passThroughHeader(name) {
			name = "X-" + name
		}
		hs = append(hs, sipstack.Header{Name: name, Value: p.Value})
	}
	return hs
}

func passThroughHeader(name string) bool {
	switch strings.ToLower(name) {
	case "user-to-user", "remote-party-id", "p-preferred-identity", "p-called-party-id":
		return true
	}
	return false
}

// queryParams parses a query string keeping order.
func queryParams(query string) []twiml.Parameter {
	var out []twiml.Parameter
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, twiml.Parameter{Name: k, Value: v})
	}
	return out
}

// originate rings the REST call's target (every contact of a client at
// once: the first to answer wins) and, once it answers, runs the call's
// TwiML on that leg.
func (c *Call) originate(ts []dialTarget, timeout time.Duration, src *docSource) {
	if len(ts) == 1 && ts[0].fail != "" {
		c.warn(ts[0].failCode, ts[0].fail, 0)
		c.setStatus(StatusInitiated)
		c.finish(StatusFailed, 404)
		return
	}
	sess, err := c.sw.media.NewSession(c.sid)
	if err != nil {
		c.warn(codeInternal, "media: "+err.Error(), 0)
		c.finish(StatusFailed, 503)
		return
	}
	c.attachSession(sess)
	leg, err := sess.NewLeg(rtpengine.LegOptions{Label: c.sid, Port: portKind(ts[0].dedicated)})
	if err != nil {
		c.warn(codeInternal, "media: "+err.Error(), 0)
		c.finish(StatusFailed, 503)
		return
	}
	c.leg = leg
	offer, err := leg.RewriteSDP(buildOffer(c.sw.cfg.Codecs))
	if err != nil {
		c.warn(codeInternal, "media: "+err.Error(), 0)
		c.finish(StatusFailed, 500)
		return
	}
	c.offerSDP = offer
	if c.ctx.Err() != nil {
		// Canceled while queued: no callbacks (§3.4).
		c.finish(StatusCanceled, 0)
		return
	}
	c.setStatus(StatusInitiated)
	type update struct {
		oc *sipstack.OutboundCall
		u  sipstack.DialUpdate
	}
	updates := make(chan update, 4*len(ts)+4)
	var ocs []*sipstack.OutboundCall
	lastCode := 404
	for _, t := range ts {
		headers := t.headers
		if t.kind == "sip" {
			headers = append(headers[:len(headers):len(headers)],
				sipstack.Header{Name: "X-Twilio-AccountSid", Value: c.account.SID},
				sipstack.Header{Name: "X-Twilio-CallSid", Value: c.sid})
		}
		oc, err := c.sw.sip.Dial(c.ctx, sipstack.DialRequest{
			Target: t.target, FromUser: sipUser(c.from), Headers: headers, SDP: offer,
			Username: t.username, Password: t.password, Timeout: timeout,
			Destination: t.destination, Transport: t.transport,
		})
		if err != nil {
			c.warn(codeNoRoute, fmt.Sprintf("cannot dial %s: %v", t.target, err), 0)
			lastCode = sipstack.StatusCode(err)
			continue
		}
		ocs = append(ocs, oc)
		go func(oc *sipstack.OutboundCall) {
			// Ends when the stack closes Updates after the final answer.
			for u := range oc.Updates() {
				updates <- update{oc, u}
			}
		}(oc)
	}
	if len(ocs) == 0 {
		c.finish(StatusFailed, lastCode)
		return
	}
	var winner *sipstack.OutboundCall
	var answer sipstack.DialUpdate
	ringing := false
	for pending := len(ocs); pending > 0; {
		x := <-updates
		if !x.u.Final {
			if !ringing {
				ringing = true
				c.setStatus(StatusRinging)
			}
			continue
		}
		pending--
		if x.u.Code >= 200 && x.u.Code < 300 && !x.u.AnsweredAfterCancel && winner == nil {
			winner, answer = x.oc, x.u
			for _, oc := range ocs {
				if oc != winner {
					oc.Cancel()
				}
			}
			continue
		}
		if winner == nil {
			lastCode = x.u.Code
		}
	}
	if winner == nil {
		status := statusFromSIP(lastCode)
		if cause := context.Cause(c.ctx); errors.Is(cause, errAPICancel) || errors.Is(cause, errAPIHangup) {
			status = StatusCanceled
		}
		c.finish(status, lastCode)
		return
	}
	c.out = winner
	c.mu.Lock()
	c.rec.SIPCallID = winner.CallID()
	c.rec.SIPResponseCode = answer.Code
	c.mu.Unlock()
	c.log = withAttrs(c.log, "sip_call_id", winner.CallID())
	if err := setRemoteFromSDP(leg, answer.SDP); err != nil {
		c.warn(codeInternal, "media: callee's answer: "+err.Error(), 0)
		c.sipLeg.setAnswered()
		c.markAnswered()
		c.end(err)
		return
	}
	c.remoteSDP = answer.SDP
	c.sipLeg.setAnswered()
	context.AfterFunc(winner.Context(), func() { c.cancel(errRemoteHangup) })
	c.markAnswered()
	c.armTimeLimit()
	c.run(src)
}

// armTimeLimit ends the call when its time limit passes.
func (c *Call) armTimeLimit() {
	if c.timeLimit <= 0 {
		return
	}
	t := time.AfterFunc(c.timeLimit, func() { c.cancel(errTimeLimit) })
	context.AfterFunc(c.ctx, func() { t.Stop() })
}

// Update controls a live call through the REST API: redirect it to new
// TwiML, hang it up (completed) or cancel it while it rings (canceled).
func (s *Switch) Update(ctx context.Context, req UpdateRequest) (CallRecord, error) {
	c, ok := s.lookup(req.CallSID)
	if !ok {
		return CallRecord{}, ErrNotInProgress
	}
	if c.account.SID != req.AccountSID {
		// Another account's live call: not found, whatever it is.
		return CallRecord{}, ErrCallNotFound
	}
	if req.StatusCallback != "" {
		c.mu.Lock()
		c.cb.url, c.cb.method = req.StatusCallback, req.StatusCallbackMethod
		c.mu.Unlock()
	}
	switch req.Status {
	case StatusCanceled:
		switch c.status() {
		case StatusQueued, StatusInitiated, StatusRinging:
			if c.direction == DirectionInbound && c.legAnswered() {
				return c.record(), nil
			}
			c.interrupt(errAPICancel, nil)
			return c.waitFinished(ctx), nil
		}
		// No effect once answered (§7.4).
		return c.record(), nil
	case StatusCompleted:
		c.interrupt(errAPIHangup, nil)
		return c.waitFinished(ctx), nil
	}
	if req.URL == "" && req.Twiml == "" {
		return c.record(), nil
	}
	if (c.parent != nil && !c.virtual) || (c.direction == DirectionOutboundAPI && !c.legAnswered()) || terminal(c.status()) {
		return CallRecord{}, ErrNotInProgress
	}
	src := &docSource{url: req.URL, method: req.Method, fallbackURL: req.FallbackURL, fallbackMethod: req.FallbackMethod}
	if req.Twiml != "" {
		src = &docSource{twiml: []byte(req.Twiml)}
	}
	c.interrupt(errRedirect, src)
	return c.record(), nil
}

// waitFinished waits (briefly) for the call to reach its final status, so
// that the REST answer shows it.
func (c *Call) waitFinished(ctx context.Context) CallRecord {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-c.done:
	case <-ctx.Done():
	case <-t.C:
	}
	return c.record()
}
