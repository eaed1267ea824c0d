package sipstack

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// identity is who an INVITE from outside any trunk authenticated as.
type identity struct {
	domain   string
	username string
}

// InboundCall is an INVITE received as UAS, admitted and validated. Its
// Dialog methods (Context, Hangup, ReInvite, Refer, SetHooks) work once it
// is answered; Context works from the start and ends on CANCEL.
type InboundCall struct {
	*Dialog

	trunk string
	ident identity
	src   netip.AddrPort
	ruser string
	offer []byte
	orig  *sip.Request // the INVITE, read-only, until parse has copied what the call needs

	// Computed on first use: most calls need only a few of them, and
	// serializing every header of every INVITE costs CPU at 1000 calls/s.
	info     sync.Once
	from, to Address
	ruri     string
	headers  []Header

	mu       sync.Mutex // serialises responses to the INVITE
	req      *sip.Request
	tx       *sip.ServerTx
	final    int
	cseq     uint32
	localTag string
	slot     sync.Once
}

func newInboundCall(s *Stack, req *sip.Request, tx *sip.ServerTx, src netip.AddrPort, trunk string, ident identity) *InboundCall {
	d := newDialog(s, true)
	c := &InboundCall{Dialog: d, trunk: trunk, ident: ident, src: src, req: req, tx: tx}
	c.orig = req
	fromTag, _ := req.From().Params.Get("tag")
	c.ruser = req.Recipient.User
	c.offer = req.Body()
	c.cseq = req.CSeq().SeqNo

	// Our To tag, the same on 180, 183 and 200 (sipgo would draw a new one
	// per response). The request itself is not modified: sipgo's own timer
	// may be writing a 100 Trying from it concurrently.
	localTag := sip.GenerateTagN(16)
	c.localTag = localTag

	d.callID = req.CallID().Value()
	d.tp = strings.ToUpper(req.Transport())
	d.key = dialogKey{callID: d.callID, localTag: localTag, remoteTag: fromTag}
	d.local = req.To().AsFrom()
	d.local.Params.Add("tag", localTag)
	d.remote = req.From().AsTo()
	if ct := req.Contact(); ct != nil {
		d.target = *ct.Address.Clone()
	} else {
		d.target = *req.From().Address.Clone()
	}
	rr := headersNamed(req, "Record-Route")
	for _, h := range rr {
		d.routes = append(d.routes, h.Value())
	}
	if len(rr) == 0 {
		// Symmetric signalling: send in-dialog requests where the INVITE came
		// from, which reaches callers behind NAT (RFC 3581 in spirit).
		d.dest = req.Source()
	}
	d.contact = s.contactFor(c.ruser, d.tp)
	d.remoteSDP = c.offer
	d.peerSeq.Store(c.cseq)
	d.onEnd = append(d.onEnd, c.releaseSlot)
	d.index(d.key)
	d.index(dialogKey{callID: d.callID, remoteTag: fromTag})

	// The transaction keeps its CANCEL callback after it is terminated, for
	// as long as sipgo keeps the transaction (sipgo_timers.go); the callback
	// reaches the call through ref, which the end of the call clears, so
	// that a lingering transaction holds its messages but not the call and
	// everything the switch hung on it.
	ref := new(atomic.Pointer[InboundCall])
	ref.Store(c)
	d.onEnd = append(d.onEnd, func() { ref.Store(nil) })
	tx.OnCancel(func(*sip.Request) {
		if c := ref.Load(); c != nil {
			c.onCancel()
		}
	})
	return c
}

func (c *InboundCall) releaseSlot() {
	c.slot.Do(func() { c.s.adm.done() })
}

// runInbound sends 100 Trying, runs the handler, and makes sure the INVITE
// transaction ends: a default answer if the handler gave none, then the ACK
// of a failure answer.
//
// The handler runs for the whole call, so this frame stays on a held call's
// stack: the work before and after it runs in frames of their own, which
// keeps the stack small enough for the collector to shrink it.
func (s *Stack) runInbound(c *InboundCall) {
	sendTrying(c)
	s.handler(c)
	s.endInbound(c)
}

//go:noinline
func sendTrying(c *InboundCall) {
	trying := sip.NewResponseFromRequest(c.req, 100, "Trying", nil)
	_ = c.tx.Respond(trying)
}

//go:noinline
func (s *Stack) endInbound(c *InboundCall) {
	c.mu.Lock()
	final := c.final
	c.mu.Unlock()
	if final == 0 {
		_ = c.Reject(500, "", nil)
		final = 500
	}
	if final >= 300 {
		s.waitAckNon2xx(c.tx)
	}
}

// Trunk returns the inbound trunk the source matched ("" for a registered
// or authenticated client).
func (c *InboundCall) Trunk() string { return c.trunk }

// Domain and Username name the authenticated client of a SIP domain (issue
// 5); both are empty for trunk calls.
func (c *InboundCall) Domain() string   { return c.ident.domain }
func (c *InboundCall) Username() string { return c.ident.username }

// Source is where the INVITE came from.
func (c *InboundCall) Source() netip.AddrPort { return c.src }

// From is the caller (From header).
func (c *InboundCall) From() Address { c.parse(); return c.from }

func (c *InboundCall) parse() {
	c.info.Do(func() {
		c.from = addressFromFrom(c.orig.From())
		c.to = addressFromTo(c.orig.To())
		c.to.Tag = c.localTag
		c.ruri = uriNoHeaders(&c.orig.Recipient)
		c.headers = copyHeaders(c.orig)
		// Everything the call reads from the INVITE is copied now; a held
		// call need not keep sipgo's parsed message (a few KiB of header
		// structs) once the INVITE transaction is done with it too.
		c.orig = nil
	})
}

// To is the To header (with our tag).
func (c *InboundCall) To() Address { c.parse(); return c.to }

// RequestURI is the Request-URI without headers.
func (c *InboundCall) RequestURI() string { c.parse(); return c.ruri }

// Called is the user part of the Request-URI: the dialled number.
func (c *InboundCall) Called() string { return c.ruser }

// Headers returns every header of the INVITE, in order.
func (c *InboundCall) Headers() []Header { c.parse(); return c.headers }

// Header returns the first value of a header (case-insensitive).
func (c *InboundCall) Header(name string) (string, bool) { return HeaderValue(c.Headers(), name) }

// XHeaders returns the X- and User-to-User headers (Twilio's SipHeader_*).
func (c *InboundCall) XHeaders() []Header { return xHeaders(c.Headers()) }

// Offer returns the SDP offer of the INVITE (validated).
func (c *InboundCall) Offer() []byte { return c.offer }

func (c *InboundCall) onCancel() {
	// Runs inside sipgo's transaction lock: no tx calls here. sipgo sends
	// 200 to the CANCEL and 487 to the INVITE itself (RFC 3261 §9.2).
	c.mu.Lock()
	if c.final == 0 {
		c.final = 487
	}
	c.mu.Unlock()
	c.finish(EndCanceled, 487, nil)
}

func (c *InboundCall) respond(code int, reason string, body []byte, hs []Header, contact bool) (*sip.Response, error) {
	if reason == "" {
		reason = reasonPhrase(code)
	}
	res := sip.NewResponseFromRequest(c.req, code, reason, nil)
	res.To().Params.Add("tag", c.localTag)
	if contact {
		ct := c.contact
		res.AppendHeader(&ct)
	}
	for _, h := range hs {
		if err := checkHeader(h); err != nil {
			return nil, err
		}
		res.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	if code >= 200 && code < 300 {
		res.AppendHeader(c.s.hdrAllow)
	}
	if len(body) > 0 {
		res.AppendHeader(c.s.hdrSDP)
	}
	res.SetBody(body)
	c.s.addServer(res)
	return res, nil
}

// Progress sends a provisional answer: 180 Ringing, or 183 Session
// Progress with SDP for early media.
func (c *InboundCall) Progress(code int, sdp []byte) error {
	if code <= 100 || code >= 200 {
		return fmt.Errorf("progress %d: %w", code, ErrBadCode)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != 0 {
		if c.final == 487 {
			return ErrCanceled
		}
		return ErrAlreadyAnswered
	}
	res, err := c.respond(code, "", sdp, nil, true)
	if err != nil {
		return err
	}
	if err := c.tx.Respond(res); err != nil {
		return fmt.Errorf("progress %d: %w: %v", code, ErrTransport, err)
	}
	if len(sdp) > 0 {
		c.Dialog.mu.Lock()
		c.localSDP = sdp
		c.Dialog.mu.Unlock()
	}
	return nil
}

// Answer sends 200 OK with the SDP answer and retransmits it until the ACK
// arrives (RFC 3261 §13.3.1.4). Without an ACK within 64*T1 (or before ctx
// ends) it sends BYE and returns ErrNoACK (or ctx's error). After a CANCEL
// it returns ErrCanceled (the stack already answered 487).
func (c *InboundCall) Answer(ctx context.Context, sdp []byte, hs []Header) error {
	c.mu.Lock()
	if c.final != 0 {
		f := c.final
		c.mu.Unlock()
		if f == 487 {
			return ErrCanceled
		}
		return ErrAlreadyAnswered
	}
	res, err := c.respond(200, "OK", sdp, hs, true)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	w := c.waitAck(c.cseq)
	if err := c.tx.Respond(res); err != nil {
		if c.final == 0 {
			c.final = 487
		}
		c.mu.Unlock()
		if c.End().Cause == EndCanceled {
			return ErrCanceled
		}
		c.finish(EndTransport, 500, nil)
		return fmt.Errorf("answer: %w: %v", ErrTransport, err)
	}
	c.final = 200
	tx := c.tx
	c.mu.Unlock()
	c.Dialog.mu.Lock()
	c.localSDP = sdp
	c.Dialog.mu.Unlock()
	c.setCode(200)

	err = c.retransmit2xx(ctx, w, func() error { return tx.Respond(res) })
	// The ACK (or the give-up) ends the INVITE transaction; free it now
	// rather than after Timer L (32 s).
	tx.Terminate()
	// Nothing answers the INVITE again (final is set): drop the transaction
	// and its last response, which a held call would otherwise keep.
	c.mu.Lock()
	c.tx, c.req = nil, nil
	c.mu.Unlock()
	switch {
	case err == nil:
		return nil
	case err == ErrCallEnded || err == ErrClosed:
		return err
	default:
		c.byeAfterFailure(EndTimeout, 200)
		return fmt.Errorf("answer %s: %w", c.callID, err)
	}
}

// Reject sends a final failure answer (300–699). Twilio's <Reject> maps to
// 486 (busy) or 603/404 (rejected); the switch chooses.
func (c *InboundCall) Reject(code int, reason string, hs []Header) error {
	if code < 300 || code > 699 {
		return fmt.Errorf("reject %d: %w", code, ErrBadCode)
	}
	c.mu.Lock()
	if c.final != 0 {
		f := c.final
		c.mu.Unlock()
		if f == 487 {
			return ErrCanceled
		}
		return ErrAlreadyAnswered
	}
	res, err := c.respond(code, reason, nil, hs, false)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	if code == 503 {
		res.AppendHeader(sip.NewHeader("Retry-After", fmt.Sprint(int(c.s.cfg.Admission.RetryAfter.Seconds()))))
	}
	err = c.tx.Respond(res)
	if err != nil && c.final == 487 {
		c.mu.Unlock()
		return ErrCanceled
	}
	c.final = code
	c.mu.Unlock()
	c.finish(EndRejected, code, nil)
	if err != nil {
		return fmt.Errorf("reject: %w: %v", ErrTransport, err)
	}
	return nil
}

// Hangup ends the call: BYE once answered; before an answer, a 480
// rejection (use Reject to choose the code).
func (c *InboundCall) Hangup(ctx context.Context, hs []Header) error {
	c.mu.Lock()
	final := c.final
	c.mu.Unlock()
	if final == 0 {
		err := c.Reject(480, "", hs)
		if err == ErrCanceled || err == ErrAlreadyAnswered {
			return nil
		}
		return err
	}
	return c.Dialog.Hangup(ctx, hs)
}

// FinalCode returns the final status sent for the INVITE (0 before one).
func (c *InboundCall) FinalCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.final
}
