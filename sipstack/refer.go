package sipstack

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// REFER and its implicit subscription (RFC 3515), both ways.

// ReferResult is the answer to a REFER we sent.
type ReferResult struct {
	Code    int // the REFER's response, e.g. 202 or 405
	Reason  string
	Headers []Header
	// Notifies carries the status code of each NOTIFY's message/sipfrag
	// body (100, 180, 200, 486, …), in order. It is closed after a final
	// code (≥ 200), when the subscription terminates, when the dialog ends,
	// or when the Refer ctx ends. Nil when the REFER was not accepted.
	Notifies <-chan int
}

type referSub struct {
	ch     chan int
	mu     sync.Mutex
	closed bool
	stop   func() bool
}

func (r *referSub) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	if r.stop != nil {
		r.stop()
	}
	close(r.ch)
}

// send delivers a NOTIFY status unless the subscription is closed or the
// reader is 16 behind.
func (r *referSub) send(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	select {
	case r.ch <- code:
	default:
	}
}

// setStop attaches the Refer context's AfterFunc, or runs it at once when
// the subscription already ended.
func (r *referSub) setStop(stop func() bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		stop()
		return
	}
	r.stop = stop
}

// Refer sends REFER with the given Refer-To (a URI, optionally with
// ?headers, as Twilio's <Refer><Sip>) and returns the response code and the
// stream of NOTIFY status codes (Twilio's ReferSipResponseCode and
// NotifySipResponseCode).
func (d *Dialog) Refer(ctx context.Context, referTo string, hs []Header) (*ReferResult, error) {
	if !d.confirmed() {
		return nil, ErrNotEstablished
	}
	if strings.ContainsAny(referTo, "\r\n") || referTo == "" {
		return nil, fmt.Errorf("refer-to %q: %w", referTo, ErrBadTarget)
	}
	if !strings.HasPrefix(referTo, "<") {
		referTo = "<" + referTo + ">"
	}
	cseq := d.localSeq.Add(1)
	req := d.newRequest(sip.REFER, cseq)
	req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	req.AppendHeader(sip.NewHeader("Referred-By", "<"+d.local.Address.String()+">"))
	for _, h := range hs {
		if err := checkHeader(h); err != nil {
			return nil, err
		}
		req.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	req.SetBody(nil)

	// Subscribe before sending: the first NOTIFY may overtake the 202.
	sub := &referSub{ch: make(chan int, 16)}
	d.mu.Lock()
	if d.state == stateEnded {
		d.mu.Unlock()
		return nil, ErrCallEnded
	}
	if d.subs == nil {
		d.subs = map[uint32]*referSub{}
	}
	d.subs[cseq] = sub
	d.mu.Unlock()
	drop := func() {
		d.mu.Lock()
		if d.subs[cseq] == sub {
			delete(d.subs, cseq)
		}
		d.mu.Unlock()
		sub.close()
	}

	res, err := d.s.roundTrip(ctx, req)
	if err != nil {
		drop()
		return nil, fmt.Errorf("refer: %w", err)
	}
	out := &ReferResult{Code: res.StatusCode, Reason: res.Reason, Headers: copyHeaders(res)}
	if !res.IsSuccess() {
		drop()
		return out, nil
	}
	sub.setStop(context.AfterFunc(ctx, drop))
	out.Notifies = sub.ch
	return out, nil
}

// onNotify feeds a NOTIFY to the REFER subscription it belongs to, or to
// the Notify hook.
func (d *Dialog) onNotify(req *sip.Request, tx *sip.ServerTx) {
	code := 481
	event := ""
	if h := req.GetHeader("Event"); h != nil {
		event = h.Value()
	} else if h := req.GetHeader("o"); h != nil {
		event = h.Value()
	}
	pkg, params, _ := strings.Cut(event, ";")
	if strings.EqualFold(strings.TrimSpace(pkg), "refer") {
		id := uint32(0)
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "id") {
				n, _ := strconv.ParseUint(v, 10, 32)
				id = uint32(n)
			}
		}
		d.mu.Lock()
		sub, key := d.subs[id], id
		if sub == nil && id == 0 && len(d.subs) == 1 {
			for k, v := range d.subs {
				sub, key = v, k
			}
		}
		terminated := false
		if h := req.GetHeader("Subscription-State"); h != nil {
			terminated = strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Value())), "terminated")
		}
		status, ok := sipfragStatus(req.Body())
		if sub != nil && (terminated || ok && status >= 200) {
			delete(d.subs, key)
		}
		d.mu.Unlock()
		if sub != nil {
			// Answer first, so the referrer sees our 200 before anything the
			// switch does on learning the outcome (a BYE, say).
			d.s.replyLinger(tx, sip.NewResponseFromRequest(req, 200, "OK", nil))
			if ok {
				sub.send(status)
			}
			if terminated || ok && status >= 200 {
				sub.close()
			}
			return
		}
	}
	if h := d.getHooks().Notify; h != nil {
		code = h(d.ctx, inDialogRequest(req))
	}
	d.s.replyLinger(tx, sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil))
}

// sipfragStatus reads the status line of a message/sipfrag body
// ("SIP/2.0 180 Ringing", RFC 3420).
func sipfragStatus(b []byte) (int, bool) {
	line := string(b)
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	if !strings.HasPrefix(line, "SIP/2.0 ") || len(line) < 11 {
		return 0, false
	}
	n, err := strconv.Atoi(line[8:11])
	if err != nil || n < 100 || n > 699 {
		return 0, false
	}
	return n, true
}

// IncomingRefer is a REFER received on a dialog (RFC 3515).
type IncomingRefer struct {
	// ReferTo is the Refer-To header value as received (Twilio's
	// ReferTransferTarget), possibly in angle brackets, with any ?headers.
	ReferTo    string
	ReferredBy string
	Headers    []Header

	d     *Dialog
	id    uint32
	mu    sync.Mutex
	done  bool
	ready chan struct{} // closed once the initial NOTIFY went out
}

// ErrSubscriptionEnded is returned by Notify after a final status.
var ErrSubscriptionEnded = errors.New("sipstack: refer subscription already terminated")

// Notify reports the transfer's progress to the referrer: a NOTIFY whose
// message/sipfrag body is "SIP/2.0 <code> <reason>". A code ≥ 200 ends the
// subscription. Call it after the Refer hook returned 202 (from another
// goroutine): it waits until the stack has sent the 202 and the initial
// NOTIFY, so the referrer sees them in order.
func (r *IncomingRefer) Notify(ctx context.Context, code int, reason string) error {
	select {
	case <-r.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notifyLocked(ctx, code, reason)
}

func (r *IncomingRefer) notifyLocked(ctx context.Context, code int, reason string) error {
	if r.done {
		return ErrSubscriptionEnded
	}
	if code < 100 || code > 699 {
		return fmt.Errorf("notify %d: %w", code, ErrBadCode)
	}
	if reason == "" || strings.ContainsAny(reason, "\r\n") {
		reason = reasonPhrase(code)
	}
	state := "active;expires=60"
	if code >= 200 {
		state = "terminated;reason=noresource"
		r.done = true
	}
	req := r.d.newRequest(sip.NOTIFY, r.d.localSeq.Add(1))
	req.AppendHeader(sip.NewHeader("Event", "refer;id="+strconv.FormatUint(uint64(r.id), 10)))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte("SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n"))
	res, err := r.d.s.roundTrip(ctx, req)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if !res.IsSuccess() {
		r.done = true
		return &StatusError{Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// onRefer hands an inbound REFER to the Refer hook.
func (d *Dialog) onRefer(req *sip.Request, tx *sip.ServerTx) {
	rt := req.GetHeaders("Refer-To")
	if len(rt) == 0 {
		rt = req.GetHeaders("r")
	}
	if len(rt) != 1 {
		d.s.refuse(req, tx, 400, ReasonBadRequest)
		return
	}
	r := &IncomingRefer{ReferTo: rt[0].Value(), Headers: copyHeaders(req), d: d, id: req.CSeq().SeqNo, ready: make(chan struct{})}
	defer close(r.ready)
	if h := req.GetHeader("Referred-By"); h != nil {
		r.ReferredBy = h.Value()
	}
	code := 603
	if h := d.getHooks().Refer; h != nil {
		code = h(d.ctx, r)
	}
	if code < 200 || code > 699 {
		code = 500
	}
	d.s.replyLinger(tx, sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil))
	if code >= 300 {
		r.done = true
		return
	}
	// RFC 3515 §2.4.4: the accepted REFER is followed at once by a NOTIFY
	// with the initial state of the transfer.
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(d.ctx, 32*d.s.cfg.Timers.T1)
	defer cancel()
	if err := r.notifyLocked(ctx, 100, "Trying"); err != nil {
		d.s.log.Debug("initial NOTIFY failed", "call_id", d.callID, "error", err)
	}
}
