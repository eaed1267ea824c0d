package sipstack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ErrRingTimeout is the cause of a 487 that followed our CANCEL because the
// ring timeout expired (Twilio: no-answer).
var ErrRingTimeout = errors.New("sipstack: ring timeout")

// DialRequest describes an outbound call.
type DialRequest struct {
	// Target is either an E.164 number ("+14155550100"), routed through the
	// outbound trunks whose prefixes match, or a SIP URI ("sip:bob@host",
	// the scheme may be omitted). A URI's "?X-a=b&User-to-User=…" headers
	// are split off by the stack and sent as headers (percent-decoded,
	// Twilio's 1024-character limit).
	Target string
	// From: user part, display name and host (default: our advertised host).
	FromUser    string
	FromDisplay string
	FromHost    string
	// To overrides the To URI (default: the target without headers).
	To string
	// Headers are extra headers (X-*, User-to-User, Diversion, …). Core
	// headers (Via, Call-ID, …) are refused.
	Headers []Header
	// SDP is the offer.
	SDP []byte
	// Username and Password answer one 401/407 challenge of a URI target
	// (trunks carry their own credentials).
	Username string
	Password string
	// Timeout is the ring timeout: with no final answer by then the stack
	// sends CANCEL (0: timers.ring_timeout).
	Timeout time.Duration
	// Destination sends the INVITE to this host:port instead of where the
	// URI points (a registered contact behind NAT, issue 5).
	Destination string
	// Transport overrides the transport ("udp" or "tcp").
	Transport string
}

// DialUpdate is a response to an outbound INVITE as the switch sees it.
type DialUpdate struct {
	Code    int
	Reason  string
	SDP     []byte   // answer (2xx) or early media (183)
	Headers []Header // every header of the response
	Final   bool
	Gateway string // outbound trunk used ("" for URI targets)
	// Err is set when the code was synthesized (ErrTimeout: 408,
	// ErrTransport: 503, ErrClosed: 503) or says why a 487 happened
	// (ErrCanceled: we cancelled; ErrRingTimeout: the ring timeout).
	Err error
	// AnsweredAfterCancel marks a 2xx that crossed our CANCEL: the stack
	// sent ACK and BYE (RFC 3261 §9.1, §15) and reports 487.
	AnsweredAfterCancel bool
}

// OutboundCall is an INVITE sent as UAC. Read Updates (or call Wait) for
// its progress; once a 2xx arrives, its Dialog methods work.
type OutboundCall struct {
	*Dialog

	req      DialRequest
	updates  chan DialUpdate
	cancelCh chan struct{}
	cancelMu sync.Once
	done     chan struct{}
	result   DialUpdate
	offer    []byte
}

// attempt is one destination tried in turn.
type attempt struct {
	ruri    sip.Uri
	tp      string
	dest    string
	user    string
	pass    string
	gateway string
}

// Dial starts an outbound call and returns at once; the INVITE is sent on a
// goroutine owned by the stack. Cancelling ctx (or calling Cancel) before
// the final answer sends CANCEL. Routing errors (no trunk, bad URI, bad
// header) return an error here.
func (s *Stack) Dial(ctx context.Context, r DialRequest) (*OutboundCall, error) {
	if !s.started.Load() {
		return nil, fmt.Errorf("dial: stack not started")
	}
	plan, extra, err := s.plan(r)
	if err != nil {
		return nil, fmt.Errorf("dial %q: %w", r.Target, err)
	}
	for _, h := range r.Headers {
		if err := checkHeader(h); err != nil {
			return nil, fmt.Errorf("dial %q: %w", r.Target, err)
		}
	}
	extra = append(extra, r.Headers...)
	if r.Timeout <= 0 {
		r.Timeout = s.cfg.Timers.RingTimeout
	}
	d := newDialog(s, false)
	oc := &OutboundCall{
		Dialog:   d,
		req:      r,
		updates:  make(chan DialUpdate, 4),
		cancelCh: make(chan struct{}),
		done:     make(chan struct{}),
		offer:    r.SDP,
	}
	d.callID = sip.GenerateTagN(24) + "@" + s.host
	fromHost := r.FromHost
	if fromHost == "" {
		fromHost = s.host
	}
	user := r.FromUser
	if user == "" {
		user = "anonymous"
	}
	d.local = sip.FromHeader{
		DisplayName: r.FromDisplay,
		Address:     sip.Uri{Scheme: "sip", User: user, Host: fromHost},
		Params:      sip.NewParams(),
	}
	d.local.Params.Add("tag", sip.GenerateTagN(16))
	d.key.localTag, _ = d.local.Params.Get("tag")
	d.key.callID = d.callID
	d.localSDP = r.SDP
	s.stats.outboundActive.Add(1)
	s.stats.outboundTotal.Add(1)
	d.onEnd = append(d.onEnd, func() { s.stats.outboundActive.Add(-1) })

	if !s.goTracked(func() { oc.run(ctx, plan, extra) }) {
		d.finish(EndShutdown, 503, nil)
		return nil, ErrClosed
	}
	return oc, nil
}

// Updates delivers provisional answers (180, 183 with SDP) and then exactly
// one final update, after which it is closed. Provisional updates are
// dropped (and counted) if the reader falls 7 behind; the final never is.
func (oc *OutboundCall) Updates() <-chan DialUpdate { return oc.updates }

// Cancel abandons the call before its final answer (CANCEL, then 487).
func (oc *OutboundCall) Cancel() {
	oc.cancelMu.Do(func() { close(oc.cancelCh) })
}

// Wait blocks until the final answer and returns it; a non-2xx final is
// also returned as a *StatusError.
func (oc *OutboundCall) Wait(ctx context.Context) (DialUpdate, error) {
	select {
	case <-oc.done:
	case <-ctx.Done():
		return DialUpdate{}, ctx.Err()
	}
	r := oc.result
	if r.Code >= 200 && r.Code < 300 && !r.AnsweredAfterCancel {
		return r, nil
	}
	return r, &StatusError{Code: r.Code, Reason: r.Reason, Headers: r.Headers, Err: r.Err}
}

// Result returns the final update once Updates is closed.
func (oc *OutboundCall) Result() DialUpdate {
	<-oc.done
	return oc.result
}

// plan turns a target into the destinations to try, plus the headers split
// off a URI target.
func (s *Stack) plan(r DialRequest) ([]attempt, []Header, error) {
	target := strings.TrimSpace(r.Target)
	if isDialString(target) {
		var trunks []OutboundTrunk
		best := map[string]int{}
		for _, t := range s.routes {
			n := -1
			if len(t.Prefixes) == 0 {
				n = 0
			}
			for _, p := range t.Prefixes {
				if strings.HasPrefix(target, p) && len(p) > n {
					n = len(p)
				}
			}
			if n >= 0 {
				trunks = append(trunks, t)
				best[t.Name] = n
			}
		}
		if len(trunks) == 0 {
			return nil, nil, ErrNoRoute
		}
		// Longest prefix first; equal prefixes by priority, then config order.
		slices.SortStableFunc(trunks, func(a, b OutboundTrunk) int {
			if best[a.Name] != best[b.Name] {
				return best[b.Name] - best[a.Name]
			}
			return a.Priority - b.Priority
		})
		var plan []attempt
		for _, t := range trunks {
			u, err := parseTarget(t.URI)
			if err != nil {
				return nil, nil, err
			}
			u.User = target
			tp := t.Transport
			if r.Transport != "" {
				tp = r.Transport
			}
			plan = append(plan, attempt{ruri: u, tp: transportOf(tp, &u), dest: r.Destination, user: t.Username, pass: t.Password, gateway: t.Name})
		}
		return plan, nil, nil
	}
	base, hs, err := SplitURIHeaders(target)
	if err != nil {
		return nil, nil, err
	}
	if len(base) >= 255 {
		return nil, nil, fmt.Errorf("URI longer than 254 characters: %w", ErrBadTarget)
	}
	u, err := parseTarget(base)
	if err != nil {
		return nil, nil, err
	}
	return []attempt{{ruri: u, tp: transportOf(r.Transport, &u), dest: r.Destination, user: r.Username, pass: r.Password}}, hs, nil
}

// parseTarget parses a sip: URI (scheme optional). sips: needs TLS, which
// tandem does not serve yet.
func parseTarget(s string) (sip.Uri, error) {
	var u sip.Uri
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		if i := strings.IndexByte(s, ':'); i >= 0 && (strings.IndexByte(s, '@') < 0 || i < strings.IndexByte(s, '@')) && isToken(s[:i]) && !isDialString(s[:i]) {
			if _, err := netipParsePort(s[i+1:]); err != nil {
				return u, fmt.Errorf("%q: only sip: URIs can be dialled: %w", s, ErrBadTarget)
			}
		}
		s = "sip:" + s
	}
	if err := sip.ParseUri(s, &u); err != nil {
		return u, fmt.Errorf("%q: %w: %v", s, ErrBadTarget, err)
	}
	if strings.EqualFold(u.Scheme, "sips") {
		return u, fmt.Errorf("%q: sips needs TLS: %w", s, ErrBadTarget)
	}
	if !strings.EqualFold(u.Scheme, "sip") || u.Host == "" {
		return u, fmt.Errorf("%q: %w", s, ErrBadTarget)
	}
	u.Headers = nil
	return u, nil
}

func transportOf(override string, u *sip.Uri) string {
	tp := strings.ToLower(override)
	if tp == "" {
		if v, ok := u.UriParams.Get("transport"); ok {
			tp = strings.ToLower(v)
		}
	}
	if tp == "tcp" {
		return "TCP"
	}
	return "UDP"
}

func (oc *OutboundCall) emit(u DialUpdate) {
	if u.Final {
		oc.result = u
		oc.updates <- u // one slot is always free for the final
		close(oc.updates)
		close(oc.done)
		return
	}
	if len(oc.updates) < cap(oc.updates)-1 {
		oc.updates <- u
		return
	}
	oc.s.stats.progressLost.Add(1)
}

// run tries the plan's destinations in order. Failover happens on 408, 5xx,
// timeouts and transport errors; a 4xx or 6xx answer ends the call (the
// callee answered).
func (oc *OutboundCall) run(ctx context.Context, plan []attempt, extra []Header) {
	var res DialUpdate
	cseq := uint32(0)
	for i, at := range plan {
		last := i == len(plan)-1
		res = oc.attempt(ctx, at, extra, &cseq, last)
		res.Gateway = at.gateway
		if last || res.Code < 300 || res.Err == ErrCanceled || res.Err == ErrRingTimeout || res.Err == ErrClosed {
			break
		}
		if !(res.Code == 408 || res.Code >= 500 && res.Code < 600) {
			break
		}
		oc.s.log.Debug("gateway failed, trying next", "call_id", oc.callID, "gateway", at.gateway, "code", res.Code)
	}
	res.Final = true
	if res.Code >= 200 && res.Code < 300 && !res.AnsweredAfterCancel {
		oc.emit(res)
		return
	}
	cause := EndRejected
	switch {
	case res.Err == ErrCanceled || res.AnsweredAfterCancel:
		cause = EndCanceled
	case res.Err == ErrRingTimeout || errors.Is(res.Err, ErrTimeout):
		cause = EndTimeout
	case errors.Is(res.Err, ErrTransport):
		cause = EndTransport
	case res.Err == ErrClosed:
		cause = EndShutdown
	}
	if !res.AnsweredAfterCancel {
		oc.finish(cause, res.Code, res.Headers)
	}
	oc.emit(res)
}

func (oc *OutboundCall) buildInvite(at attempt, cseq uint32, extra []Header, auth sip.Header) *sip.Request {
	s := oc.s
	req := sip.NewRequest(sip.INVITE, at.ruri)
	req.AppendHeader(s.newVia(at.tp))
	from := oc.local
	from.Params = from.Params.Clone()
	req.AppendHeader(&from)
	to := &sip.ToHeader{Address: at.ruri, Params: sip.NewParams()}
	to.Address.UriParams = nil
	if oc.req.To != "" {
		if u, err := parseTarget(oc.req.To); err == nil {
			to.Address = u
		}
	}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(oc.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.INVITE})
	ct := s.contactFor(oc.local.Address.User, at.tp)
	req.AppendHeader(&ct)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(s.hdrAllow)
	if auth != nil {
		req.AppendHeader(auth)
	}
	for _, h := range extra {
		req.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	s.addServer(req)
	if len(oc.offer) > 0 {
		req.AppendHeader(s.hdrSDP)
	}
	req.SetBody(oc.offer)
	s.route(req, at.tp, at.dest)
	return req
}

func buildCancel(inv *sip.Request) *sip.Request {
	c := sip.NewRequest(sip.CANCEL, inv.Recipient)
	c.AppendHeader(inv.Via().Clone())
	for _, h := range headersNamed(inv, "Route") {
		c.AppendHeader(sip.NewHeader("Route", h.Value()))
	}
	mf := sip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	from, to := *inv.From(), *inv.To()
	from.Params, to.Params = from.Params.Clone(), to.Params.Clone()
	c.AppendHeader(&from)
	c.AppendHeader(&to)
	cid := *inv.CallID()
	c.AppendHeader(&cid)
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	c.SetBody(nil)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	c.Laddr = inv.Laddr
	return c
}

// attempt sends the INVITE to one destination and follows it to a final
// answer (with one digest retry), handling CANCEL on ctx, Cancel and the
// ring timeout.
func (oc *OutboundCall) attempt(ctx context.Context, at attempt, extra []Header, cseq *uint32, last bool) DialUpdate {
	s := oc.s
	oc.tp = at.tp
	oc.contact = s.contactFor(oc.local.Address.User, at.tp)
	oc.dest = at.dest
	*cseq++
	inv := oc.buildInvite(at, *cseq, extra, nil)
	tx, err := s.txl.Request(ctx, inv)
	if err != nil {
		return DialUpdate{Code: 503, Reason: "Service Unavailable", Err: fmt.Errorf("%w: %v", ErrTransport, err)}
	}
	defer func() { s.linger(tx) }()

	ring := time.NewTimer(oc.req.Timeout)
	defer ring.Stop()
	var gwTimer <-chan time.Time
	if !last {
		t := time.NewTimer(s.cfg.Timers.GatewayTimeout)
		defer t.Stop()
		gwTimer = t.C
	}
	var (
		ctxDone   = ctx.Done()
		cancelCh  = (<-chan struct{})(oc.cancelCh)
		ringC     = ring.C
		got1xx    bool
		cancelErr error // why we cancel; nil while not cancelling
		cancelTx  *sip.ClientTx
		cancelRes <-chan *sip.Response
		guard     <-chan time.Time
		authed    bool
	)
	sendCancel := func() {
		c := buildCancel(inv)
		ctx, cancel := context.WithTimeout(context.Background(), 4*s.cfg.Timers.T1)
		defer cancel()
		t, err := s.txl.Request(ctx, c)
		if err != nil {
			return
		}
		cancelTx, cancelRes = t, t.Responses()
	}
	startCancel := func(why error) {
		if cancelErr != nil {
			return
		}
		cancelErr = why
		ctxDone, cancelCh, ringC = nil, nil, nil
		// RFC 3261 §9.1: CANCEL only after a provisional response.
		if got1xx {
			sendCancel()
		}
		g := time.NewTimer(64 * s.cfg.Timers.T1)
		guard = g.C
	}
	defer func() {
		if cancelTx != nil {
			cancelTx.Terminate()
		}
	}()

	for {
		select {
		case res := <-tx.Responses():
			gwTimer = nil
			code := res.StatusCode
			switch {
			case code < 200:
				got1xx = true
				if cancelErr != nil && cancelTx == nil {
					sendCancel()
				}
				if code > 100 && cancelErr == nil {
					oc.emit(DialUpdate{Code: code, Reason: res.Reason, SDP: res.Body(), Headers: copyHeaders(res), Gateway: at.gateway})
				}
			case code < 300:
				return oc.answered(res, *cseq, at, cancelErr)
			case (code == 401 || code == 407) && !authed && at.user != "" && cancelErr == nil:
				authed = true
				hdr, err := authHeader(res, at, inv)
				if err != nil {
					return failure(res, nil)
				}
				s.linger(tx)
				*cseq++
				inv = oc.buildInvite(at, *cseq, extra, hdr)
				tx, err = s.txl.Request(ctx, inv)
				if err != nil {
					return DialUpdate{Code: 503, Reason: "Service Unavailable", Err: fmt.Errorf("%w: %v", ErrTransport, err)}
				}
				got1xx = false
			default:
				return failure(res, cancelErr)
			}
		case <-tx.Done():
			err := classifyTxErr(tx.Err())
			if cancelErr != nil {
				return DialUpdate{Code: 487, Reason: "Request Terminated", Err: cancelErr}
			}
			if errors.Is(err, ErrTimeout) {
				return DialUpdate{Code: 408, Reason: "Request Timeout", Err: err}
			}
			return DialUpdate{Code: 503, Reason: "Service Unavailable", Err: err}
		case <-gwTimer:
			// Nothing at all from this gateway: move on without CANCEL (§9.1
			// forbids it before a provisional response).
			tx.Terminate()
			return DialUpdate{Code: 408, Reason: "Request Timeout", Err: fmt.Errorf("%w: no response from gateway", ErrTimeout)}
		case <-ctxDone:
			startCancel(ErrCanceled)
		case <-cancelCh:
			startCancel(ErrCanceled)
		case <-ringC:
			startCancel(ErrRingTimeout)
		case r := <-cancelRes:
			if r.StatusCode >= 200 {
				cancelTx.Terminate()
				cancelRes = nil
			}
		case <-guard:
			// The callee never answered our CANCEL with a final response.
			tx.Terminate()
			return DialUpdate{Code: 487, Reason: "Request Terminated", Err: cancelErr}
		case <-s.closing:
			tx.Terminate()
			return DialUpdate{Code: 503, Reason: "Service Unavailable", Err: ErrClosed}
		}
	}
}

func failure(res *sip.Response, cancelErr error) DialUpdate {
	return DialUpdate{Code: res.StatusCode, Reason: res.Reason, Headers: copyHeaders(res), SDP: res.Body(), Err: cancelErr}
}

// authHeader answers a 401/407 challenge.
func authHeader(res *sip.Response, at attempt, inv *sip.Request) (sip.Header, error) {
	chName, authName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chName, authName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(chName)
	if h == nil {
		return nil, errDigest
	}
	ch, err := parseChallenge(h.Value())
	if err != nil {
		return nil, err
	}
	return sip.NewHeader(authName, ch.authorization(at.user, at.pass, "INVITE", uriNoHeaders(&inv.Recipient))), nil
}

// answered makes the dialog from a 2xx, sends the ACK, and, when the 2xx
// crossed our CANCEL, hangs up at once (RFC 3261 §15).
func (oc *OutboundCall) answered(res *sip.Response, cseq uint32, at attempt, cancelErr error) DialUpdate {
	d := oc.Dialog
	to := res.To()
	rt, _ := to.Params.Get("tag")
	d.mu.Lock()
	d.remote = *to
	d.remote.Params = to.Params.Clone()
	if c := res.Contact(); c != nil {
		d.target = *c.Address.Clone()
	} else {
		d.target = at.ruri
	}
	rr := headersNamed(res, "Record-Route")
	d.routes = d.routes[:0]
	for i := len(rr) - 1; i >= 0; i-- {
		d.routes = append(d.routes, rr[i].Value())
	}
	d.remoteSDP = res.Body()
	d.state = stateConfirmed
	d.end.Code = res.StatusCode
	d.mu.Unlock()
	d.key.remoteTag = rt
	d.localSeq.Store(cseq)
	d.index(d.key)
	d.sendAck(res, cseq)

	u := DialUpdate{Code: res.StatusCode, Reason: res.Reason, SDP: res.Body(), Headers: copyHeaders(res), Gateway: at.gateway}
	if cancelErr != nil {
		u.AnsweredAfterCancel = true
		u.Code, u.Reason, u.Err = 487, "Request Terminated", cancelErr
		d.byeAfterFailure(EndCanceled, 487)
	}
	return u
}

// newVia makes a Via for a request we originate: our advertised address,
// a fresh branch, and rport (RFC 3581) so NATs route responses back.
func (s *Stack) newVia(tp string) *sip.ViaHeader {
	port := s.udpPort
	if tp == "TCP" {
		port = s.tcpPort
	}
	v := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: tp, Host: s.host, Port: port, Params: sip.NewParams()}
	v.Params.Add("branch", sip.GenerateBranchN(16))
	v.Params.Add("rport", "")
	return v
}

// route sets transport, next hop and, for UDP, the listening socket the
// request must leave from, so that Via and Contact name the port responses
// and new requests come back to (ARCHITECTURE.md, sipgo finding 2).
func (s *Stack) route(req *sip.Request, tp, dest string) {
	req.SetTransport(tp)
	if dest != "" {
		req.SetDestination(dest)
	}
	if tp == "UDP" && s.udpAddr.IP != nil {
		req.Laddr = sip.Addr{IP: s.udpAddr.IP, Port: s.udpAddr.Port}
	}
}

func (s *Stack) contactFor(user, tp string) sip.ContactHeader {
	c := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: s.host}}
	if tp == "TCP" {
		c.Address.Port = s.tcpPort
		c.Address.UriParams = sip.NewParams()
		c.Address.UriParams.Add("transport", "tcp")
	} else {
		c.Address.Port = s.udpPort
	}
	return c
}

// roundTrip sends a non-INVITE request and waits for its final response;
// the transaction is freed right after (no 64*T1 linger for responses).
func (s *Stack) roundTrip(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	tx, err := s.txl.Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", req.Method, ErrTransport, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				return res, nil
			}
		case <-tx.Done():
			return nil, fmt.Errorf("%s: %w", req.Method, classifyTxErr(tx.Err()))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.closing:
			return nil, ErrClosed
		}
	}
}

// netipParsePort parses the port after "host:" so that "example.com:5070"
// is not mistaken for a URI scheme.
func netipParsePort(s string) (int, error) {
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, ErrBadTarget
	}
	return p, nil
}
