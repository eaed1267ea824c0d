package callswitch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"tandem/rtpengine"
	"tandem/sipstack"
	"tandem/switch/webhook"
	"tandem/twiml"
)

// dialTarget is one <Dial> noun resolved to something the SIP stack can
// call.
type dialTarget struct {
	kind     string // "number", "sip", "client"
	target   string // sipstack.DialRequest.Target
	to       string // the child call's To, as Twilio reports it
	headers  []sipstack.Header
	username string
	password string
	// destination and transport reach a registered contact behind NAT.
	destination string
	transport   string
	dedicated   bool // media on a dedicated port (clients behind NAT)
	cb          statusCallback
	// fail explains why the noun cannot be dialled (the child leg fails).
	fail     string
	failCode int
}

// dialLeg is one outbound leg of a <Dial>.
type dialLeg struct {
	t       dialTarget
	child   *Call
	oc      *sipstack.OutboundCall
	result  sipstack.DialUpdate
	ringing bool
}

// dialOutcome is what the <Dial action> request reports (§2.2).
type dialOutcome struct {
	status      string
	child       *Call
	duration    int
	bridged     bool
	sip         bool
	sipCallID   string
	sipCode     int
	finalHdrs   []sipstack.Header // DialSipHeader_*: the final response, or the closing BYE
	answerHdrs  []sipstack.Header // SipHeader_*: the 200 OK
	returnParam []twiml.Parameter // ReturnParam_* (Application hand-off)
}

// dialVerb carries out <Dial>. It returns the action document when the Dial
// has an action, ended when the call is over.
//
// A bridged call waits in bridge for as long as it lasts, so the frames
// below it stay small (the outcome is on the heap, the dialling and the
// action request run in frames that are gone by then): the collector then
// shrinks the goroutine's stack, which is most of a held call's memory.
func (c *Call) dialVerb(ctx context.Context, d *twiml.Dial, docURL string, first bool) (*docSource, bool, error) {
	if len(d.Targets) == 1 {
		if app, ok := d.Targets[0].(*twiml.Application); ok {
			// A hand-off has no bridge of its own: the other application's
			// TwiML ran on this leg.
			return c.handOff(ctx, d, docURL, app)
		}
	}
	out := c.dial(ctx, d, docURL)
	if out == nil {
		return nil, true, nil
	}
	if out.bridged {
		if next, handled := c.bridge(ctx, d, docURL, out); handled {
			// An inbound REFER took the call elsewhere: its referUrl TwiML
			// replaces the Dial's action (§5.1).
			return next, next == nil, nil
		}
	}
	return c.afterDial(ctx, d, docURL, out)
}

// handOff carries out <Dial><Application> and then the Dial's action.
//
//go:noinline
func (c *Call) handOff(ctx context.Context, d *twiml.Dial, docURL string, app *twiml.Application) (*docSource, bool, error) {
	out := c.applicationDial(ctx, d, app, docURL)
	return c.afterDial(ctx, d, docURL, &out)
}

// dial rings the Dial's targets and returns the outcome; nil when the
// caller could not be answered.
//
//go:noinline
func (c *Call) dial(ctx context.Context, d *twiml.Dial, docURL string) *dialOutcome {
	out := new(dialOutcome)
	targets := c.resolveTargets(d, docURL)
	if !d.AnswerOnBridge {
		// Without answerOnBridge the caller is answered first (§0) and
		// hears the ringing from tandem's side.
		if err := c.answer(ctx); err != nil {
			c.log.Debug("answer before dial", "err", err)
			return nil
		}
	}
	if d.Sequential {
		for i := range targets {
			*out = c.dialGroup(ctx, d, targets[i:i+1], nil)
			if out.bridged || ctx.Err() != nil {
				break
			}
		}
	} else {
		*out = c.dialGroup(ctx, d, targets, nil)
	}
	return out
}

// afterDial requests the Dial's action (or lets the document continue).
//
//go:noinline
func (c *Call) afterDial(ctx context.Context, d *twiml.Dial, docURL string, out *dialOutcome) (*docSource, bool, error) {
	if !out.bridged && out.sipCode != 0 {
		c.mu.Lock()
		c.dialFailCode = out.sipCode
		c.mu.Unlock()
	}
	if errors.Is(context.Cause(ctx), errRedirect) {
		return nil, false, nil
	}
	callerGone := c.ctx.Err() != nil
	if d.Action == nil {
		return nil, callerGone, nil
	}
	u, err := webhook.ResolveURL(docURL, *d.Action)
	if err != nil {
		return nil, false, &errDocument{code: 11100, msg: fmt.Sprintf("<Dial action> %q: %v", *d.Action, err), line: d.Line}
	}
	src := &docSource{url: u, method: d.Method, params: out.params()}
	if callerGone {
		// The caller hung up during the Dial: Twilio still requests the
		// action (with the final CallStatus); its TwiML cannot run.
		if !c.finishedNow() {
			c.end(context.Cause(c.ctx))
		}
		rctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, _, err := c.fetch(rctx, src); err != nil {
			c.log.Debug("dial action after hangup", "err", err)
		}
		return nil, true, nil
	}
	return src, false, nil
}

func (c *Call) finishedNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.finished
}

// params are the Dial action parameters (§2.2).
func (o *dialOutcome) params() []webhook.Param {
	p := []webhook.Param{{Name: "DialCallStatus", Value: o.status}}
	if o.child != nil {
		p = append(p,
			webhook.Param{Name: "DialCallSid", Value: o.child.sid},
			webhook.Param{Name: "DialCallDuration", Value: strconv.Itoa(o.duration)},
		)
	}
	p = append(p, webhook.Param{Name: "DialBridged", Value: strconv.FormatBool(o.bridged)})
	if o.sip {
		if o.sipCallID != "" {
			p = append(p, webhook.Param{Name: "DialSipCallId", Value: o.sipCallID})
		}
		if o.sipCode != 0 {
			p = append(p, webhook.Param{Name: "DialSipResponseCode", Value: strconv.Itoa(o.sipCode)})
		}
		for _, h := range o.answerHdrs {
			if isXHeader(h.Name) {
				p = append(p, webhook.Param{Name: "SipHeader_" + h.Name, Value: h.Value})
			}
		}
		for _, h := range o.finalHdrs {
			if isXHeader(h.Name) {
				p = append(p, webhook.Param{Name: "DialSipHeader_" + h.Name, Value: h.Value})
			}
		}
	}
	for _, rp := range o.returnParam {
		p = append(p, webhook.Param{Name: "ReturnParam_" + rp.Name, Value: rp.Value})
	}
	return p
}

// resolveTargets turns the Dial's nouns into dial targets.
func (c *Call) resolveTargets(d *twiml.Dial, docURL string) []dialTarget {
	var out []dialTarget
	for _, n := range d.Targets {
		switch n := n.(type) {
		case *twiml.Number:
			num := normalizeNumber(n.Number)
			t := dialTarget{kind: "number", target: num, to: num, cb: c.nounCallback(n.CallStatusCallback, docURL)}
			if !isE164(num) {
				t.fail, t.failCode = fmt.Sprintf("<Number> %q is not a phone number", n.Number), 13223
			}
			out = append(out, t)
		case *twiml.Sip:
			out = append(out, c.sipTargets(n, docURL)...)
		case *twiml.Client:
			out = append(out, c.clientTargets(n, docURL)...)
		case *twiml.Application:
			out = append(out, dialTarget{kind: "application", fail: "<Application> cannot be dialled together with other nouns", failCode: 13215})
		default:
			line := 0
			if nn, ok := n.(twiml.Node); ok {
				line = nn.SourceLine()
			}
			c.warn(codeSchemaWarning, fmt.Sprintf("<Dial><%s> is not supported yet", n.Tag()), line)
			out = append(out, dialTarget{kind: strings.ToLower(n.Tag()), fail: fmt.Sprintf("<%s> is not supported yet", n.Tag()), failCode: codeSchemaWarning})
		}
	}
	return out
}

// sipTargets resolves <Sip>; a URI in one of tandem's own SIP domains
// (sip:alice@domain) rings every registered contact of that user.
func (c *Call) sipTargets(n *twiml.Sip, docURL string) []dialTarget {
	t := c.sipTarget(n, docURL)
	if t.fail != "" {
		return []dialTarget{t}
	}
	base, hs, err := sipstack.SplitURIHeaders(t.target)
	if err != nil {
		return []dialTarget{t}
	}
	c.checkCustomParams(headerBytes(hs) + headerBytes(t.headers[:len(t.headers)-1]))
	user, host := uriUserHost(base)
	if host == "" || user == "" {
		return []dialTarget{t}
	}
	ctx, cancel := context.WithTimeout(c.ctx, lookupTimeout)
	defer cancel()
	dom, err := c.sw.dir.Domain(ctx, host)
	if err != nil {
		return []dialTarget{t}
	}
	if !dom.Registration {
		return []dialTarget{t}
	}
	targets := c.contactTargets(dom.Name, user, t.to, append(hs, t.headers...))
	if len(targets) == 0 {
		t.fail, t.failCode = fmt.Sprintf("%s has no registered contact", base), 13224
		return []dialTarget{t}
	}
	for i := range targets {
		targets[i].kind = "sip"
		targets[i].cb = t.cb
		targets[i].username, targets[i].password = t.username, t.password
	}
	return targets
}

func hasHeader(hs []sipstack.Header, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

func headerBytes(hs []sipstack.Header) int {
	n := 0
	for _, h := range hs {
		n += len(h.Name) + len(h.Value)
	}
	return n
}

// uriUserHost splits sip:user@host[:port][;params] into user and host.
func uriUserHost(uri string) (string, string) {
	rest := uri[strings.IndexByte(uri, ':')+1:]
	user, hostport, ok := strings.Cut(rest, "@")
	if !ok {
		return "", ""
	}
	hostport, _, _ = strings.Cut(hostport, ";")
	host := hostport
	if h, _, ok := strings.Cut(hostport, ":"); ok && !strings.HasPrefix(hostport, "[") {
		host = h
	}
	return user, strings.ToLower(host)
}

// sipTarget resolves <Sip>: the text URI or the <Uri> of best priority,
// <Headers> added to the headers the URI carries after '?'.
func (c *Call) sipTarget(n *twiml.Sip, docURL string) dialTarget {
	uri, user, pass := n.URI, n.Username, n.Password
	if uri == "" && len(n.URIs) > 0 {
		us := append([]twiml.SipURI(nil), n.URIs...)
		// Lower priority values are tried first; among equals, the
		// heavier weight.
		sort.SliceStable(us, func(i, j int) bool {
			if us[i].Priority != us[j].Priority {
				return us[i].Priority < us[j].Priority
			}
			return us[i].Weight > us[j].Weight
		})
		uri = us[0].URI
		if us[0].Username != "" {
			user, pass = us[0].Username, us[0].Password
		}
	}
	t := dialTarget{kind: "sip", cb: c.nounCallback(n.CallStatusCallback, docURL), username: user, password: pass}
	if uri == "" {
		t.fail, t.failCode = "<Sip> has no URI", 13215
		return t
	}
	if !strings.HasPrefix(uri, "sip:") && !strings.HasPrefix(uri, "sips:") {
		uri = "sip:" + uri
	}
	t.target = uri
	t.to, _, _ = strings.Cut(uri, "?")
	for _, h := range n.Headers {
		t.headers = append(t.headers, sipstack.Header{Name: h.Name, Value: h.Value})
	}
	// Twilio marks its outgoing SIP INVITEs with the account and call
	// (observed as X-Twilio-AccountSid / X-Twilio-CallSid, §2.6); the
	// CallSid is the child's and is added when the leg starts.
	t.headers = append(t.headers, sipstack.Header{Name: "X-Twilio-AccountSid", Value: c.account.SID})
	return t
}

// nounCallback reads a noun's statusCallback attributes; a relative URL
// resolves against the document's (§0).
func (c *Call) nounCallback(cb twiml.CallStatusCallback, docURL string) statusCallback {
	if cb.StatusCallback == "" {
		return statusCallback{}
	}
	u, err := webhook.ResolveURL(docURL, cb.StatusCallback)
	if err != nil {
		c.warn(11100, fmt.Sprintf("statusCallback %q: %v", cb.StatusCallback, err), 0)
		return statusCallback{}
	}
	return statusCallback{url: u, method: cb.StatusCallbackMethod, events: cb.StatusCallbackEvent}
}

// dialGroup rings targets at once; the first to answer wins and the others
// are cancelled (§2.3). It returns with the winner bridged, or with every
// leg failed.
func (c *Call) dialGroup(ctx context.Context, d *twiml.Dial, targets []dialTarget, extra []sipstack.Header) dialOutcome {
	type update struct {
		i int
		u sipstack.DialUpdate
	}
	updates := make(chan update, 4*len(targets)+4)
	legs := make([]*dialLeg, len(targets))
	pending := 0
	var out dialOutcome
	for i, t := range targets {
		if len(extra) > 0 {
			t.headers = append(t.headers[:len(t.headers):len(t.headers)], extra...)
		}
		l := c.startLeg(ctx, d, t)
		legs[i] = l
		if l.oc == nil {
			out = l.outcome()
			continue
		}
		pending++
		go func(i int, oc *sipstack.OutboundCall) {
			// Ends when the stack closes Updates after the final answer;
			// the loop below reads until every leg's final arrived.
			for u := range oc.Updates() {
				updates <- update{i, u}
			}
		}(i, l.oc)
	}
	var winner, early *dialLeg
	cancelled := false
	cancelRest := func(keep *dialLeg) {
		for _, l := range legs {
			if l != keep && l.oc != nil {
				l.oc.Cancel()
			}
		}
	}
	done := ctx.Done()
	for pending > 0 {
		select {
		case x := <-updates:
			l, u := legs[x.i], x.u
			if !u.Final {
				if !l.ringing {
					l.ringing = true
					l.child.setStatus(StatusRinging)
				}
				if winner == nil && d.AnswerOnBridge && c.in != nil && !c.legAnswered() {
					early = c.relayEarly(l, u, early)
				}
				continue
			}
			pending--
			l.result = u
			if u.Code >= 200 && u.Code < 300 && !u.AnsweredAfterCancel && winner == nil && !cancelled {
				if err := c.connect(ctx, l, u); err != nil {
					c.log.Info("dial: connecting the answered leg failed", "child", l.child.sid, "err", err)
					l.child.end(err)
					out = l.outcome()
					out.status = StatusFailed
					continue
				}
				winner = l
				cancelRest(l)
				continue
			}
			l.fail(u)
			if winner == nil {
				out = l.outcome()
			}
		case <-done:
			done = nil
			cancelled = true
			cancelRest(nil)
		}
	}
	if early != nil && early != winner {
		c.leg.Unlink()
	}
	if winner != nil {
		out = winner.outcome()
		out.bridged = true
		out.status = StatusCompleted
	}
	if winner == nil && cancelled && errors.Is(context.Cause(ctx), errAPICancel) {
		out.status = StatusCanceled
	}
	return out
}

// startLeg creates the child call and sends its INVITE. A leg that cannot be
// started (no route, bad target) is finished as failed at once.
func (c *Call) startLeg(ctx context.Context, d *twiml.Dial, t dialTarget) *dialLeg {
	child := c.sw.newCall(c, DirectionOutboundDial)
	c.sw.stats.outboundDial.Add(1)
	child.from = c.callerID(d, t)
	child.to = t.to
	child.cb = t.cb
	child.dialled = t.target
	child.mu.Lock()
	child.rec.From, child.rec.To = child.from, child.to
	child.rec.Status = StatusQueued
	child.mu.Unlock()
	l := &dialLeg{t: t, child: child}
	if t.fail != "" {
		child.warn(t.failCode, t.fail, 0)
		l.result = sipstack.DialUpdate{Code: 404, Final: true}
		child.setStatus(StatusInitiated)
		child.finish(StatusFailed, 0)
		return l
	}
	leg, err := c.sess.NewLeg(rtpengine.LegOptions{Label: child.sid, Port: portKind(t.dedicated), AvoidShared: c.leg})
	if err != nil {
		child.warn(codeInternal, "media: "+err.Error(), 0)
		l.result = sipstack.DialUpdate{Code: 503, Final: true}
		child.setStatus(StatusInitiated)
		child.finish(StatusFailed, 503)
		return l
	}
	child.leg = leg
	offer, err := c.offerFor(leg)
	if err != nil {
		child.warn(codeInternal, "media: "+err.Error(), 0)
		l.result = sipstack.DialUpdate{Code: 488, Final: true}
		child.setStatus(StatusInitiated)
		child.finish(StatusFailed, 488)
		return l
	}
	child.offerSDP = offer
	headers := t.headers
	if t.kind == "sip" {
		headers = append(headers[:len(headers):len(headers)], sipstack.Header{Name: "X-Twilio-CallSid", Value: child.sid})
	}
	if c.referredBy != "" && !hasHeader(headers, "Referred-By") {
		headers = append(headers[:len(headers):len(headers)], sipstack.Header{Name: "Referred-By", Value: c.referredBy})
	}
	req := sipstack.DialRequest{
		Target:      t.target,
		FromUser:    sipUser(child.from),
		Headers:     headers,
		SDP:         offer,
		Username:    t.username,
		Password:    t.password,
		Timeout:     d.Timeout,
		Destination: t.destination,
		Transport:   t.transport,
	}
	child.setStatus(StatusInitiated)
	oc, err := c.sw.sip.Dial(ctx, req)
	if err != nil {
		code := sipstack.StatusCode(err)
		child.warn(codeNoRoute, fmt.Sprintf("cannot dial %s: %v", t.target, err), 0)
		l.result = sipstack.DialUpdate{Code: code, Final: true, Err: err}
		child.finish(StatusFailed, code)
		return l
	}
	l.oc = oc
	child.out = oc
	child.mu.Lock()
	child.rec.SIPCallID = oc.CallID()
	child.mu.Unlock()
	// The child's context ends when its dialog does (the callee's BYE).
	context.AfterFunc(oc.Context(), func() { child.cancel(errRemoteHangup) })
	return l
}

func portKind(dedicated bool) rtpengine.PortKind {
	if dedicated {
		return rtpengine.PortDedicated
	}
	return rtpengine.PortShared
}

// callerID is the From of a dialled leg: the Dial's callerId, else the
// caller's own From (§2.1).
func (c *Call) callerID(d *twiml.Dial, t dialTarget) string {
	if d.CallerID != "" {
		return d.CallerID
	}
	return c.from
}

// offerFor is the SDP offer for a new leg linked to this call: the caller's
// own offer while it is unanswered (its answer will come from the far end),
// else exactly the codec this call already negotiated.
func (c *Call) offerFor(leg *rtpengine.Leg) ([]byte, error) {
	var base []byte
	switch {
	case c.in != nil && !c.legAnswered():
		base = c.remoteSDP
	case c.in != nil:
		base = c.pinned
	case c.out != nil:
		b, err := offerLike(c.offerSDP, audioFormats(c.remoteSDP))
		if err != nil {
			return nil, err
		}
		base = b
	default:
		return nil, errors.New("call has no SIP leg")
	}
	if base == nil {
		return nil, errors.New("no negotiated SDP to offer")
	}
	return leg.RewriteSDP(base)
}

// relayEarly passes the callee's early media to an unanswered caller when
// answerOnBridge is set: 183 with the callee's SDP, linked through the media
// core. (The caller already heard 180 when the call came in.)
func (c *Call) relayEarly(l *dialLeg, u sipstack.DialUpdate, early *dialLeg) *dialLeg {
	if u.Code == 183 && len(u.SDP) > 0 && early == nil {
		if err := setRemoteFromSDP(l.child.leg, u.SDP); err == nil {
			if body, err := c.leg.RewriteSDP(u.SDP); err == nil {
				if err := c.in.Progress(183, body); err == nil {
					if err := c.leg.Link(l.child.leg); err == nil {
						return l
					}
				}
			}
		}
	}
	return early
}

// connect bridges the answered leg l to this call: media linked both ways,
// the caller answered with the callee's answer if it was still ringing
// (answerOnBridge), re-INVITEs passed between the two.
func (c *Call) connect(ctx context.Context, l *dialLeg, u sipstack.DialUpdate) error {
	if err := setRemoteFromSDP(l.child.leg, u.SDP); err != nil {
		return fmt.Errorf("callee's answer SDP: %w", err)
	}
	if p := c.leg.Peer(); p != nil && p != l.child.leg {
		// Early media from another fork, or (a transfer) the leg this call
		// is still bridged to: the answered leg takes over.
		c.leg.Unlink()
	}
	if err := c.leg.Link(l.child.leg); err != nil {
		return fmt.Errorf("link media: %w", err)
	}
	l.child.remoteSDP = u.SDP
	if c.in != nil && !c.legAnswered() {
		body, err := c.leg.RewriteSDP(u.SDP)
		if err != nil {
			return fmt.Errorf("answer SDP: %w", err)
		}
		if err := c.answerWith(ctx, body); err != nil {
			return err
		}
		// Later legs are offered the codec this answer settled.
		pinned, err := offerLike(c.remoteSDP, audioFormats(u.SDP))
		if err == nil {
			c.pinned = pinned
		}
	}
	l.child.sipLeg.setAnswered()
	l.child.markAnswered()
	c.markAnswered()
	return nil
}

// fail finishes a leg that got a final failure answer.
func (l *dialLeg) fail(u sipstack.DialUpdate) {
	status := statusFromSIP(u.Code)
	if errors.Is(u.Err, sipstack.ErrCanceled) || u.AnsweredAfterCancel {
		// We cancelled it because another leg won or the caller left:
		// the losing fork reports canceled (§8.2).
		status = StatusCanceled
	}
	l.child.finish(status, u.Code)
}

// outcome is the Dial result as far as this leg goes.
func (l *dialLeg) outcome() dialOutcome {
	o := dialOutcome{child: l.child, sip: l.t.kind == "sip", sipCode: l.result.Code}
	if l.oc != nil {
		o.sipCallID = l.oc.CallID()
	}
	switch {
	case l.result.Code >= 200 && l.result.Code < 300:
		o.status = StatusCompleted
		o.answerHdrs = l.result.Headers
	case errors.Is(l.result.Err, sipstack.ErrCanceled):
		o.status = StatusNoAnswer
		o.finalHdrs = l.result.Headers
	default:
		o.status = statusFromSIP(l.result.Code)
		o.finalHdrs = l.result.Headers
	}
	if l.t.fail != "" {
		o.status = StatusFailed
	}
	return o
}

// bridge holds the bridged call until one side hangs up, the time limit
// passes, the call is redirected or hung up through the API, or an inbound
// REFER transfers it. handled reports that a REFER took the call elsewhere:
// next is then the referUrl's document to run (nil: the call is over).
// The REFER handling and the teardown run in their own frames, so that the
// frame waiting here for the whole call stays small (see dialVerb).
func (c *Call) bridge(ctx context.Context, d *twiml.Dial, docURL string, out *dialOutcome) (next *docSource, handled bool) {
	limit := d.TimeLimit
	if c.timeLimit > 0 && c.timeLimit < limit {
		limit = c.timeLimit
	}
	timer := time.NewTimer(limit)
	refers := make(chan *referRequest, 1)
	setBridgeHooks(c, out.child, d, refers)
	var after func(dialOutcome) *docSource
	for {
		calleeGone := false
		select {
		case <-out.child.ctx.Done():
			calleeGone = true
		case <-ctx.Done():
		case <-timer.C:
		case rr := <-refers:
			if next, done := c.referDuringBridge(ctx, d, docURL, out, rr, refers, &after); done {
				timer.Stop()
				return next, true
			}
			continue
		}
		timer.Stop()
		return c.unbridge(out, calleeGone, after)
	}
}

// referDuringBridge carries out an inbound REFER received while bridged.
// done reports that the bridge is over (next is then what the call runs);
// otherwise the bridge goes on, perhaps with a new callee in out.child and
// a new after.
//
//go:noinline
func (c *Call) referDuringBridge(ctx context.Context, d *twiml.Dial, docURL string, out *dialOutcome, rr *referRequest,
	refers chan *referRequest, after *func(dialOutcome) *docSource) (next *docSource, done bool) {
	res := c.transfer(ctx, d, docURL, out.child, rr)
	if res.cont {
		if res.newChild != nil {
			out.child = res.newChild
			*after = res.after
			setBridgeHooks(c, out.child, d, refers)
		}
		return nil, false
	}
	out.duration = out.child.duration()
	return res.next, true
}

// unbridge ends a bridge: the legs are unlinked and the callee hung up
// (unless it hung up itself). calleeGone reports the callee's hangup.
//
//go:noinline
func (c *Call) unbridge(out *dialOutcome, calleeGone bool, after func(dialOutcome) *docSource) (*docSource, bool) {
	child := out.child
	clearHooks(c, child)
	c.leg.Unlink()
	if calleeGone && child.out != nil {
		// The callee hung up: its BYE's X- headers are DialSipHeader_*.
		out.finalHdrs = child.out.End().Headers
		child.end(errRemoteHangup)
	} else {
		// The caller hung up, the time limit passed, or the call was
		// redirected or ended through the API: tandem hangs up the callee.
		child.end(errBridgeEnded)
	}
	out.duration = child.duration()
	if after != nil && c.ctx.Err() == nil {
		return after(*out), true
	}
	return nil, after != nil
}
