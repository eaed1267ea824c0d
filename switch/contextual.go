package callswitch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"tandem/sipstack"
	"tandem/switch/webhook"
	"tandem/twiml"
)

// Contextual calling (twilio-voice.md §2.5–2.7, §5, §6): hand-offs between
// applications on the same leg, custom parameters, registered clients.

// applicationDial hands the caller's leg to another application (§2.7): no
// new SIP leg and no new media path, but a child Call (outbound-dial,
// ParentCallSid) whose TwiML, fetched from the target application's
// VoiceUrl with Param_* values, runs on the same leg. When it ends, its
// <Hangup>/<Reject> parameters come back as ReturnParam_*.
func (c *Call) applicationDial(ctx context.Context, d *twiml.Dial, a *twiml.Application, docURL string) dialOutcome {
	fail := func(code int, format string, args ...any) dialOutcome {
		c.warn(code, fmt.Sprintf(format, args...), a.Line)
		return dialOutcome{status: StatusFailed}
	}
	sid := strings.TrimSpace(a.SID)
	if sid == "" {
		return fail(13215, "<Application> has no ApplicationSid")
	}
	app, err := c.sw.dir.Application(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return fail(codeAppConnectDenied, "<Application> %s does not exist", sid)
	} else if err != nil {
		return fail(codeInternal, "<Application> %s: %v", sid, err)
	}
	// Another account's application (a parent's and a subaccount's
	// included) only when it allows public application connect.
	if app.AccountSID != c.account.SID && !app.PublicApplicationConnectEnabled {
		return fail(codeAppConnectDenied, "<Application> %s belongs to another account and does not have PublicApplicationConnectEnabled", sid)
	}
	if c.depth+1 > c.sw.cfg.MaxApplicationDepth {
		return fail(codeApplicationLoop, "<Application> %s: more than %d nested application hand-offs", sid, c.sw.cfg.MaxApplicationDepth)
	}
	for _, s := range c.appChain() {
		if s == sid {
			return fail(codeApplicationLoop, "<Application> %s: hand-off loop (%s → %s)", sid, strings.Join(c.appChain(), " → "), sid)
		}
	}
	if app.VoiceURL == "" {
		return fail(21205, "<Application> %s has no VoiceUrl", sid)
	}
	acct, err := c.sw.dir.Account(ctx, app.AccountSID)
	if err != nil || !acct.Active {
		return fail(codeAppConnectDenied, "<Application> %s: its account %s is not active", sid, app.AccountSID)
	}
	if !d.AnswerOnBridge {
		if err := c.answer(ctx); err != nil {
			return dialOutcome{status: StatusFailed}
		}
	}

	child := c.sw.newCall(c, DirectionOutboundDial)
	child.virtual = true
	child.sipLeg = c.sipLeg
	child.account = acct
	child.app = app
	child.depth = c.depth + 1
	child.from = c.callerIDFor(d)
	child.to = app.SID
	if a.CopyParentTo {
		child.to = c.to
	}
	customer := a.CustomerID
	if customer == "" {
		customer = c.account.SID
	}
	child.extra = append(child.extra, webhook.Param{Name: "CustomerId", Value: customer})
	size := 0
	for _, p := range a.Parameters {
		child.extra = append(child.extra, webhook.Param{Name: "Param_" + p.Name, Value: p.Value})
		size += len(p.Name) + len(p.Value)
	}
	c.checkCustomParams(size)
	child.cb = c.nounCallback(a.CallStatusCallback, docURL)
	if child.cb.url == "" && app.StatusCallback != "" {
		child.cb = statusCallback{url: app.StatusCallback, method: app.StatusCallbackMethod, events: twiml.CallCompleted}
	}
	child.timeLimit = d.TimeLimit
	child.mu.Lock()
	child.rec.AccountSID = acct.SID
	child.rec.From, child.rec.To = child.from, child.to
	child.mu.Unlock()
	child.log = withAttrs(child.log, "application", app.SID, "parent_call_sid", c.sid)
	// The caller hanging up (or the parent's document being interrupted)
	// ends the hand-off too.
	stop := context.AfterFunc(ctx, func() { child.cancel(context.Cause(ctx)) })
	defer stop()

	child.setStatus(StatusInitiated)
	status := StatusRinging
	if c.legAnswered() {
		status = StatusInProgress
	}
	child.setStatus(status)
	child.armTimeLimit()
	child.run(&docSource{url: app.VoiceURL, method: app.VoiceMethod, fallbackURL: app.VoiceFallbackURL, fallbackMethod: app.VoiceFallbackMethod})

	rec := child.record()
	out := dialOutcome{child: child, duration: rec.Duration, bridged: child.handoffAnswered(), returnParam: child.retParams}
	out.status = child.handoffStatus
	if out.status == "" {
		out.status = rec.Status
	}
	return out
}

// appChain lists the applications this call's TwiML came from, root first.
func (c *Call) appChain() []string {
	var chain []string
	for x := c; x != nil; x = x.parent {
		if x.app.SID != "" && (x.parent == nil || x.virtual) {
			chain = append([]string{x.app.SID}, chain...)
		}
	}
	return chain
}

func (c *Call) handoffAnswered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered
}

// finishVirtual ends a hand-off child without touching the shared leg; status
// is what the parent's Dial reports (busy/no-answer for a <Reject>).
func (c *Call) finishVirtual(status string) {
	c.mu.Lock()
	if c.handoffStatus == "" {
		c.handoffStatus = status
	}
	c.mu.Unlock()
	c.finish(status, 0)
}

// returnParams keeps a <Hangup>/<Reject>'s <Parameter>s for the parent's
// Dial action (ReturnParam_*).
func (c *Call) returnParams(ps []twiml.Parameter) {
	c.mu.Lock()
	c.retParams = append(c.retParams, ps...)
	c.mu.Unlock()
}

// callerIDFor is the From of a leg or hand-off a Dial makes.
func (c *Call) callerIDFor(d *twiml.Dial) string {
	if d.CallerID != "" {
		return d.CallerID
	}
	return c.from
}

// checkCustomParams records a warning when a call's custom parameters pass
// Twilio's 800-byte guideline (§6): nothing is truncated.
func (c *Call) checkCustomParams(size int) {
	if limit := c.sw.cfg.CustomParameterBytes; limit > 0 && size > limit {
		c.warn(codeSchemaWarning, fmt.Sprintf("custom parameters total %d bytes, over the %d-byte guideline; some transports truncate them", size, limit), 0)
	}
}

// clientTargets resolves <Client> (or client:identity) to every registered
// contact of the identity in the account's SIP domains that take
// registrations; <Parameter>s travel as X- headers.
func (c *Call) clientTargets(n *twiml.Client, docURL string) []dialTarget {
	ident := strings.TrimSpace(n.Identity)
	to := "client:" + ident
	var hs []sipstack.Header
	size := 0
	for _, p := range n.Parameters {
		hs = append(hs, sipstack.Header{Name: xName(p.Name), Value: p.Value})
		size += len(p.Name) + len(p.Value)
	}
	c.checkCustomParams(size)
	ctx, cancel := context.WithTimeout(c.ctx, lookupTimeout)
	defer cancel()
	domains, err := c.sw.dir.ClientDomains(ctx, c.account.SID)
	if err != nil {
		c.log.Error("client domains", "err", err)
	}
	var out []dialTarget
	for _, dom := range domains {
		out = append(out, c.contactTargets(dom, ident, to, hs)...)
	}
	if len(out) == 0 {
		return []dialTarget{{kind: "client", to: to, fail: "client " + ident + " has no registered contact", failCode: 13224}}
	}
	cb := c.nounCallback(n.CallStatusCallback, docURL)
	for i := range out {
		out[i].cb = cb
	}
	return out
}

// contactTargets is one target per registered contact of user@domain.
func (c *Call) contactTargets(domain, user, to string, hs []sipstack.Header) []dialTarget {
	var out []dialTarget
	for _, ct := range c.sw.sip.Contacts(domain, user) {
		out = append(out, dialTarget{
			kind: "client", target: ct.URI, to: to, headers: hs,
			destination: ct.Destination, transport: ct.Transport,
			dedicated: c.sw.cfg.ClientMedia == "dedicated",
		})
	}
	return out
}

// xName makes a custom parameter name an X- header name.
func xName(n string) string {
	if isXHeader(n) || passThroughHeader(n) {
		return n
	}
	return "X-" + n
}

// routeDomain routes a call from an authenticated client of a SIP domain
// to the domain's voice URL (To is the Request-URI, From the client's SIP
// URI, §3.3).
func (s *Switch) routeDomain(ctx context.Context, ic *sipstack.InboundCall) (NumberRoute, error) {
	dom, err := s.dir.Domain(ctx, ic.Domain())
	if err != nil {
		return NumberRoute{}, err
	}
	ruri, _, _ := strings.Cut(ic.RequestURI(), ";")
	return NumberRoute{
		AccountSID:  dom.AccountSID,
		PhoneNumber: ruri,
		Voice: Application{
			SID: dom.SID, AccountSID: dom.AccountSID,
			VoiceURL: dom.VoiceURL, VoiceMethod: dom.VoiceMethod,
			VoiceFallbackURL: dom.VoiceFallbackURL, VoiceFallbackMethod: dom.VoiceFallbackMethod,
			StatusCallback: dom.StatusCallback, StatusCallbackMethod: dom.StatusCallbackMethod,
		},
	}, nil
}

// referVerb carries out <Refer><Sip> (§5.2): REFER on this call's SIP leg,
// follow the NOTIFYs, then request the action with ReferCallStatus,
// ReferSipResponseCode and NotifySipResponseCode.
func (c *Call) referVerb(ctx context.Context, r *twiml.Refer, docURL string) (*docSource, bool, error) {
	if r.Sip == nil || strings.TrimSpace(r.Sip.URI) == "" {
		c.warn(13215, "<Refer> has no <Sip> target", r.Line)
		return nil, false, nil
	}
	target := strings.TrimSpace(r.Sip.URI)
	if !strings.HasPrefix(target, "sip:") && !strings.HasPrefix(target, "sips:") {
		target = "sip:" + target
	}
	if err := c.answer(ctx); err != nil {
		return nil, true, nil
	}
	dlg := c.dialog()
	if dlg == nil {
		c.warn(13215, "<Refer> needs a SIP leg", r.Line)
		return nil, false, nil
	}
	var params []webhook.Param
	res, err := dlg.Refer(ctx, "<"+target+">", nil)
	referCode := sipstack.StatusCode(err)
	if err == nil {
		referCode = res.Code
	}
	params = append(params, webhook.Param{Name: "ReferSipResponseCode", Value: fmt.Sprint(referCode)})
	status := StatusFailed
	if err == nil && res.Code >= 200 && res.Code < 300 && res.Notifies != nil {
		last := 0
	follow:
		for {
			select {
			case code, ok := <-res.Notifies:
				if !ok {
					break follow
				}
				last = code
				if code >= 200 {
					break follow
				}
			case <-ctx.Done():
				break follow
			}
		}
		switch {
		case ctx.Err() != nil:
			status = StatusCanceled
		case last >= 200 && last < 300:
			status = StatusInProgress
		case last != 0:
			status = statusFromSIP(last)
		}
		if last != 0 {
			params = append(params, webhook.Param{Name: "NotifySipResponseCode", Value: fmt.Sprint(last)})
		}
	}
	params = append(params, webhook.Param{Name: "ReferCallStatus", Value: status})
	if ctx.Err() != nil {
		return nil, true, nil
	}
	if r.Action == nil {
		return nil, false, nil
	}
	u, err := webhook.ResolveURL(docURL, *r.Action)
	if err != nil {
		return nil, false, &errDocument{code: 11100, msg: fmt.Sprintf("<Refer action> %q: %v", *r.Action, err), line: r.Line}
	}
	return &docSource{url: u, method: r.Method, params: params}, false, nil
}

// referRequest is an inbound REFER on a bridged leg, handed to the bridge.
type referRequest struct {
	from *Call // the leg whose far end sent the REFER
	r    *sipstack.IncomingRefer
}

// referHook accepts an inbound REFER on a bridge whose <Dial> has a
// referUrl (§5.1) and queues it for the bridge; without a referUrl it is
// refused (603) and the call stays up.
func (c *Call) referHook(d *twiml.Dial, from *Call, refers chan<- *referRequest) func(ctx context.Context, r *sipstack.IncomingRefer) int {
	return func(ctx context.Context, r *sipstack.IncomingRefer) int {
		if d.ReferURL == "" {
			c.warn(codeSchemaWarning, "REFER refused: the <Dial> has no referUrl", d.Line)
			return 603
		}
		select {
		case refers <- &referRequest{from: from, r: r}:
			return 202
		default:
			// A transfer is already under way on this bridge.
			return 491
		}
	}
}

// referParams are the parameters of the referUrl request (§5.1): the
// referring call's own plus ReferTransferTarget and the Refer-To URI's X-
// headers as SipHeader_*.
func referParams(r *sipstack.IncomingRefer) []webhook.Param {
	target := strings.TrimSpace(r.ReferTo)
	p := []webhook.Param{{Name: "ReferTransferTarget", Value: target}}
	uri := strings.TrimSuffix(strings.TrimPrefix(target, "<"), ">")
	if i := strings.IndexByte(uri, '>'); i >= 0 {
		uri = uri[:i]
	}
	if _, hs, err := sipstack.SplitURIHeaders(uri); err == nil {
		for _, h := range hs {
			if isReportedInbound(h.Name) {
				p = append(p, webhook.Param{Name: "SipHeader_" + h.Name, Value: h.Value})
			}
		}
	}
	return p
}

// queryAppend adds query parameters to a URL (REST client:alice?k=v
// parameters are also delivered to the application URL, §6).
func queryAppend(raw string, ps []twiml.Parameter) string {
	if len(ps) == 0 {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for _, p := range ps {
		q.Add(p.Name, p.Value)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
