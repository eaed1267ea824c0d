package sipstack

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// dialogKey identifies a dialog from our side (RFC 3261 §12): Call-ID, our
// tag, the peer's tag. In a request we receive, our tag is the To tag. An
// entry with an empty localTag indexes an inbound INVITE by Call-ID and From
// tag, so a late retransmission of it is recognised.
type dialogKey struct {
	callID    string
	localTag  string
	remoteTag string
}

func keyFromRequest(req *sip.Request) (dialogKey, bool) {
	cid, from, to := req.CallID(), req.From(), req.To()
	if cid == nil || from == nil || to == nil {
		return dialogKey{}, false
	}
	lt, _ := to.Params.Get("tag")
	rt, _ := from.Params.Get("tag")
	return dialogKey{callID: cid.Value(), localTag: lt, remoteTag: rt}, true
}

const dialogShards = 32

// dialogTable is a sharded map of live dialogs.
type dialogTable struct {
	seed   maphash.Seed
	shards [dialogShards]struct {
		mu sync.RWMutex
		m  map[dialogKey]*Dialog
	}
}

func (t *dialogTable) init() {
	t.seed = maphash.MakeSeed()
	for i := range t.shards {
		t.shards[i].m = make(map[dialogKey]*Dialog)
	}
}

func (t *dialogTable) shard(k dialogKey) int {
	return int(maphash.String(t.seed, k.callID) % dialogShards)
}

func (t *dialogTable) get(k dialogKey) *Dialog {
	sh := &t.shards[t.shard(k)]
	sh.mu.RLock()
	d := sh.m[k]
	sh.mu.RUnlock()
	return d
}

func (t *dialogTable) put(k dialogKey, d *Dialog) {
	sh := &t.shards[t.shard(k)]
	sh.mu.Lock()
	sh.m[k] = d
	sh.mu.Unlock()
}

func (t *dialogTable) del(k dialogKey, d *Dialog) {
	sh := &t.shards[t.shard(k)]
	sh.mu.Lock()
	if sh.m[k] == d {
		delete(sh.m, k)
	}
	sh.mu.Unlock()
}

func (t *dialogTable) each(f func(*Dialog)) {
	var all []*Dialog
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		for _, d := range sh.m {
			all = append(all, d)
		}
		sh.mu.RUnlock()
	}
	for _, d := range all {
		f(d)
	}
}

// DialogHooks receive in-dialog requests. Each hook runs on a goroutine of
// the stack and may block for a few seconds (a re-INVITE waits for the other
// leg); ctx ends when the dialog ends. A nil hook gets a default answer.
type DialogHooks struct {
	// ReInvite gets the offer of a re-INVITE (hold/resume, codec change) and
	// returns the answer SDP with code 200, or a failure code (488, 491, …).
	// Default: answer with our last SDP (the session is unchanged).
	ReInvite func(ctx context.Context, offer []byte) (answer []byte, code int)
	// Refer gets an inbound REFER (RFC 3515). Return 202 to accept it and
	// report progress later with r.Notify; any other code refuses it.
	// Default: 603 (Twilio refuses REFER when the Dial has no referUrl).
	Refer func(ctx context.Context, r *IncomingRefer) int
	// Notify gets NOTIFYs that do not belong to a REFER we sent. Default: 481.
	Notify func(ctx context.Context, req *InDialogRequest) int
	// Info gets INFO requests (DTMF relay later). Default: 200.
	Info func(ctx context.Context, req *InDialogRequest) int
}

// InDialogRequest is an in-dialog request handed to a hook.
type InDialogRequest struct {
	Method      string
	Headers     []Header
	ContentType string
	Body        []byte
}

type dialogState int32

const (
	stateEarly dialogState = iota
	stateConfirmed
	stateEnded
)

// ackWait is the pending 2xx of an INVITE (initial or re-INVITE) waiting for
// its ACK.
type ackWait struct {
	cseq uint32
	ch   chan struct{}
	once sync.Once
}

// Dialog is the part of a call shared by inbound and outbound legs: the SIP
// dialog once it exists, its context, and in-dialog requests both ways.
type Dialog struct {
	s        *Stack
	key      dialogKey
	inbound  bool
	callID   string
	tp       string // "UDP" or "TCP"
	local    sip.FromHeader
	remote   sip.ToHeader
	target   sip.Uri  // remote target (Contact)
	routes   []string // route set, in the order to send
	dest     string   // explicit next hop host:port; "" lets sipgo use Route/target
	contact  sip.ContactHeader
	localSeq atomic.Uint32
	peerSeq  atomic.Uint32

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	state     dialogState
	end       End
	localSDP  []byte
	remoteSDP []byte
	hooks     DialogHooks
	ack       *sip.Request // UAC: our last 2xx ACK, for 2xx retransmissions
	ackCSeq   uint32
	waiting   *ackWait
	subs      map[uint32]*referSub // REFERs we sent, by CSeq (the event id)
	onEnd     []func()
	indexed   []dialogKey

	inviteOut sync.Mutex  // one outgoing (re-)INVITE at a time (RFC 3261 §14.1)
	inviteIn  atomic.Bool // one incoming re-INVITE at a time (§14.2)
	inflight  atomic.Int32
}

func newDialog(s *Stack, inbound bool) *Dialog {
	d := &Dialog{s: s, inbound: inbound}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	s.stats.dialogsActive.Add(1)
	return d
}

// index puts the dialog in the stack's table under k.
func (d *Dialog) index(k dialogKey) {
	d.mu.Lock()
	ended := d.state == stateEnded
	if !ended {
		d.indexed = append(d.indexed, k)
	}
	d.mu.Unlock()
	if !ended {
		d.s.dialogs.put(k, d)
	}
}

// CallID returns the Call-ID.
func (d *Dialog) CallID() string { return d.callID }

// Context ends when the call ends: BYE either way, CANCEL, rejection,
// timeout, or Close.
func (d *Dialog) Context() context.Context { return d.ctx }

// Done is Context().Done().
func (d *Dialog) Done() <-chan struct{} { return d.ctx.Done() }

// End reports how the call ended (Cause EndNone while it is up).
func (d *Dialog) End() End {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.end
}

// Transport returns "UDP" or "TCP".
func (d *Dialog) Transport() string { return d.tp }

// LocalSDP returns the last SDP we sent; RemoteSDP the last we received.
func (d *Dialog) LocalSDP() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.localSDP
}

// RemoteSDP returns the last SDP the peer sent.
func (d *Dialog) RemoteSDP() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteSDP
}

// SetHooks installs the in-dialog request hooks.
func (d *Dialog) SetHooks(h DialogHooks) {
	d.mu.Lock()
	d.hooks = h
	d.mu.Unlock()
}

func (d *Dialog) getHooks() DialogHooks {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hooks
}

func (d *Dialog) confirmed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state == stateConfirmed
}

// finish ends the dialog once: records the cause, cancels the context,
// removes it from the table and runs the end hooks.
func (d *Dialog) finish(cause EndCause, code int, hs []Header) bool {
	d.mu.Lock()
	if d.state == stateEnded {
		d.mu.Unlock()
		return false
	}
	d.state = stateEnded
	d.end = End{Cause: cause, Code: code, Headers: hs}
	keys := d.indexed
	d.indexed = nil
	onEnd := d.onEnd
	d.onEnd = nil
	subs := d.subs
	d.subs = nil
	w := d.waiting
	d.mu.Unlock()

	d.cancel()
	for _, k := range keys {
		d.s.dialogs.del(k, d)
	}
	for _, sub := range subs {
		sub.close()
	}
	if w != nil {
		w.once.Do(func() { close(w.ch) })
	}
	for _, f := range onEnd {
		f()
	}
	d.s.stats.dialogsActive.Add(-1)
	return true
}

// setCode records the final code without ending (used on answer).
func (d *Dialog) setCode(code int) {
	d.mu.Lock()
	d.end.Code = code
	d.mu.Unlock()
}

// waitAck arms the wait for the ACK of the 2xx to the INVITE with cseq.
func (d *Dialog) waitAck(cseq uint32) *ackWait {
	w := &ackWait{cseq: cseq, ch: make(chan struct{})}
	d.mu.Lock()
	if d.state == stateEnded {
		d.mu.Unlock()
		close(w.ch)
		return w
	}
	d.waiting = w
	d.mu.Unlock()
	return w
}

func (d *Dialog) gotAck(req *sip.Request) {
	var cseq uint32
	if c := req.CSeq(); c != nil {
		cseq = c.SeqNo
	}
	d.mu.Lock()
	w := d.waiting
	if w != nil && w.cseq == cseq {
		d.waiting = nil
		if d.state == stateEarly {
			d.state = stateConfirmed
		}
		if b := req.Body(); len(b) > 0 {
			d.remoteSDP = b
		}
	} else {
		w = nil
	}
	d.mu.Unlock()
	if w != nil {
		w.once.Do(func() { close(w.ch) })
	}
}

// retransmit2xx resends a 2xx until its ACK arrives (RFC 3261 §13.3.1.4):
// at T1, doubling up to T2, for 64*T1. It returns ErrNoACK when no ACK
// came, ErrCallEnded when the dialog ended meanwhile.
func (d *Dialog) retransmit2xx(ctx context.Context, w *ackWait, send func() error) error {
	t1, t2 := d.s.cfg.Timers.T1, d.s.cfg.Timers.T2
	// One timer serves both the retransmissions and the 64*T1 give-up: it
	// runs for every answered call, and a second timer would cost a timer
	// and its channel per call.
	giveUp := time.Now().Add(64 * t1)
	interval := t1
	tick := time.NewTimer(interval)
	defer tick.Stop()
	for {
		select {
		case <-w.ch:
			if d.End().Cause != EndNone {
				return ErrCallEnded
			}
			return nil
		case now := <-tick.C:
			left := giveUp.Sub(now)
			if left <= 0 {
				return ErrNoACK
			}
			if err := send(); err != nil {
				return fmt.Errorf("retransmit 2xx: %w", err)
			}
			if interval *= 2; interval > t2 {
				interval = t2
			}
			tick.Reset(min(interval, left))
		case <-ctx.Done():
			return ctx.Err()
		case <-d.s.closing:
			return ErrClosed
		}
	}
}

// newRequest builds an in-dialog request (RFC 3261 §12.2.1.1).
func (d *Dialog) newRequest(method sip.RequestMethod, cseq uint32) *sip.Request {
	req := sip.NewRequest(method, d.target)
	req.AppendHeader(d.s.newVia(d.tp))
	from := d.local
	from.Params = from.Params.Clone()
	req.AppendHeader(&from)
	to := d.remote
	to.Params = to.Params.Clone()
	req.AppendHeader(&to)
	cid := sip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range d.routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	switch method {
	case sip.INVITE, sip.REFER, sip.NOTIFY, sip.SUBSCRIBE, sip.UPDATE:
		c := d.contact
		req.AppendHeader(&c)
	}
	d.s.addServer(req)
	d.s.route(req, d.tp, d.dest)
	return req
}

// request sends an in-dialog request and waits for its final response.
func (d *Dialog) request(ctx context.Context, method sip.RequestMethod, hs []Header, ctype string, body []byte) (*sip.Response, error) {
	if d.End().Cause != EndNone && method != sip.BYE {
		return nil, ErrCallEnded
	}
	req := d.newRequest(method, d.localSeq.Add(1))
	for _, h := range hs {
		if err := checkHeader(h); err != nil {
			return nil, err
		}
		req.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	if ctype != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	}
	req.SetBody(body)
	return d.s.roundTrip(ctx, req)
}

// Hangup ends an established dialog with BYE (RFC 3261 §15) and waits for
// the answer, bounded by ctx. A dialog that already ended returns nil. An
// inbound call without a final answer yet is rejected with 480 instead.
func (d *Dialog) Hangup(ctx context.Context, hs []Header) error {
	d.mu.Lock()
	st := d.state
	w := d.waiting
	d.mu.Unlock()
	switch st {
	case stateEnded:
		return nil
	case stateEarly:
		if w == nil {
			return ErrNotEstablished
		}
		// §15: the callee must not send BYE before the ACK of its 2xx.
		select {
		case <-w.ch:
		case <-ctx.Done():
		}
	}
	res, err := d.request(ctx, sip.BYE, hs, "", nil)
	d.finish(EndLocal, d.End().Code, nil)
	if err != nil {
		return fmt.Errorf("bye %s: %w", d.callID, err)
	}
	if !res.IsSuccess() && res.StatusCode != 481 {
		return &StatusError{Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// byeAfterFailure sends BYE in the background (no ACK for our 2xx, or a 2xx
// that raced our CANCEL) and ends the dialog.
func (d *Dialog) byeAfterFailure(cause EndCause, code int) {
	d.s.goTracked(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 32*d.s.cfg.Timers.T1)
		defer cancel()
		_, _ = d.request(ctx, sip.BYE, nil, "", nil)
		d.finish(cause, code, nil)
	})
}

// ReInvite sends a re-INVITE with a new offer (hold/resume) and returns the
// peer's answer. A failure answer is a *StatusError (491 means glare: retry
// after a random pause, RFC 3261 §14.1).
func (d *Dialog) ReInvite(ctx context.Context, offer []byte) ([]byte, error) {
	if !d.confirmed() {
		return nil, ErrNotEstablished
	}
	if d.inviteIn.Load() || !d.inviteOut.TryLock() {
		return nil, ErrPending
	}
	defer d.inviteOut.Unlock()
	cseq := d.localSeq.Add(1)
	req := d.newRequest(sip.INVITE, cseq)
	req.AppendHeader(d.s.hdrSDP)
	req.SetBody(offer)
	tx, err := d.s.txl.Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("re-INVITE %s: %w: %v", d.callID, ErrTransport, err)
	}
	defer d.s.linger(tx)
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode < 200 {
				continue
			}
			if !res.IsSuccess() {
				return nil, &StatusError{Code: res.StatusCode, Reason: res.Reason, Headers: copyHeaders(res)}
			}
			d.refreshTarget(res.Contact())
			d.sendAck(res, cseq)
			answer := res.Body()
			d.mu.Lock()
			d.localSDP, d.remoteSDP = offer, answer
			d.mu.Unlock()
			return answer, nil
		case <-tx.Done():
			return nil, fmt.Errorf("re-INVITE %s: %w", d.callID, classifyTxErr(tx.Err()))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-d.s.closing:
			return nil, ErrClosed
		}
	}
}

func (d *Dialog) refreshTarget(c *sip.ContactHeader) {
	if c == nil {
		return
	}
	d.mu.Lock()
	d.target = *c.Address.Clone()
	d.mu.Unlock()
}

// sendAck builds and sends the ACK for a 2xx (a transaction of its own,
// RFC 3261 §13.2.2.4) and keeps it for 2xx retransmissions.
func (d *Dialog) sendAck(res *sip.Response, cseq uint32) {
	ack := d.newRequest(sip.ACK, cseq)
	ack.SetBody(nil)
	d.mu.Lock()
	d.ack, d.ackCSeq = ack, cseq
	d.mu.Unlock()
	if err := d.s.tp.WriteMsg(ack); err != nil {
		d.s.log.Debug("send ACK failed", "call_id", d.callID, "error", err)
	}
}

func (d *Dialog) resendAck(cseq uint32) {
	d.mu.Lock()
	ack := d.ack
	ok := ack != nil && d.ackCSeq == cseq
	d.mu.Unlock()
	if ok {
		_ = d.s.tp.WriteMsg(ack)
	}
}

// onRequest handles a request inside this dialog.
func (d *Dialog) onRequest(req *sip.Request, tx *sip.ServerTx) {
	// RFC 3261 §12.2.2: a CSeq lower than the last one is out of order.
	seq := req.CSeq().SeqNo
	if req.Method != sip.CANCEL {
		for {
			last := d.peerSeq.Load()
			if seq <= last && last != 0 {
				d.s.refuse(req, tx, 500, ReasonBadRequest)
				return
			}
			if d.peerSeq.CompareAndSwap(last, seq) {
				break
			}
		}
	}
	switch req.Method {
	case sip.BYE:
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		d.s.replyLinger(tx, res)
		d.finish(EndRemoteBye, d.End().Code, copyHeaders(req))
	case sip.INVITE:
		d.onReInvite(req, tx)
	case sip.OPTIONS:
		d.s.replyStateless(req, tx, 200, "OK", d.s.capabilityHeaders()...)
	case sip.REFER, sip.NOTIFY, sip.INFO:
		if d.inflight.Add(1) > 4 {
			d.inflight.Add(-1)
			d.s.refuse(req, tx, 500, ReasonBusy)
			return
		}
		defer d.inflight.Add(-1)
		switch req.Method {
		case sip.REFER:
			d.onRefer(req, tx)
		case sip.NOTIFY:
			d.onNotify(req, tx)
		default:
			code := 200
			if h := d.getHooks().Info; h != nil {
				code = h(d.ctx, inDialogRequest(req))
			}
			d.s.replyLinger(tx, sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil))
		}
	default:
		d.s.refuse(req, tx, 405, ReasonMethodNotAllowed)
	}
}

func inDialogRequest(req *sip.Request) *InDialogRequest {
	r := &InDialogRequest{Method: string(req.Method), Headers: copyHeaders(req), Body: req.Body()}
	if ct := req.ContentType(); ct != nil {
		r.ContentType = ct.Value()
	}
	return r
}

// onReInvite answers a re-INVITE through the hook (RFC 3261 §14.2).
func (d *Dialog) onReInvite(req *sip.Request, tx *sip.ServerTx) {
	// The peer may not send a new INVITE before it has ACKed the previous
	// 2xx (RFC 3261 §14.1), so a re-INVITE with a higher CSeq implies that
	// ACK even if sipgo hands us the ACK later (each message runs on its
	// own goroutine).
	seq := req.CSeq().SeqNo
	d.mu.Lock()
	w := d.waiting
	if w != nil && w.cseq < seq {
		d.waiting = nil
		if d.state == stateEarly {
			d.state = stateConfirmed
		}
	} else {
		w = nil
	}
	d.mu.Unlock()
	if w != nil {
		w.once.Do(func() { close(w.ch) })
	}
	if !d.confirmed() {
		// A re-INVITE before the 2xx of the first INVITE (§14.2).
		d.s.replyStateless(req, tx, 500, "Server Internal Error", sip.NewHeader("Retry-After", "1"))
		return
	}
	// The goroutine that answered the previous re-INVITE may still be
	// finishing; give it a moment before calling this one concurrent.
	busy := true
	for i := 0; i < 20 && busy; i++ {
		if busy = !d.inviteIn.CompareAndSwap(false, true); busy {
			time.Sleep(d.s.cfg.Timers.T1 / 10)
		}
	}
	if busy {
		d.s.stats.refuse(ReasonBusy)
		d.s.replyStateless(req, tx, 500, "Server Internal Error", sip.NewHeader("Retry-After", "2"))
		return
	}
	defer d.inviteIn.Store(false)
	if !d.inviteOut.TryLock() {
		// Glare: we have a re-INVITE of our own outstanding (§14.2).
		d.s.stats.refuse(ReasonBusy)
		d.s.replyStateless(req, tx, 491, "Request Pending")
		return
	}
	d.inviteOut.Unlock()
	offer := req.Body()
	if len(offer) > 0 {
		if !isSDP(req) {
			d.s.refuse(req, tx, 415, ReasonUnsupportedMedia)
			return
		}
		if err := ValidateSDP(offer); err != nil {
			d.s.refuse(req, tx, 488, ReasonBadSDP)
			return
		}
	}
	d.refreshTarget(req.Contact())
	var answer []byte
	code := 200
	if h := d.getHooks().ReInvite; h != nil && len(offer) > 0 {
		ctx, cancel := context.WithTimeout(d.ctx, 32*d.s.cfg.Timers.T1)
		answer, code = h(ctx, offer)
		cancel()
	} else {
		// No hook, or an offerless re-INVITE (session refresh): offer our
		// current session; the answer comes in the ACK.
		answer = d.LocalSDP()
	}
	if code < 200 || code >= 300 {
		if code < 300 || code > 699 {
			code = 500
		}
		res := sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
		d.s.addServer(res)
		if err := tx.Respond(res); err != nil {
			tx.Terminate()
			return
		}
		d.s.waitAckNon2xx(tx)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", answer)
	c := d.contact
	res.AppendHeader(&c)
	if len(answer) > 0 {
		res.AppendHeader(d.s.hdrSDP)
	}
	d.s.addServer(res)
	w = d.waitAck(seq)
	if err := tx.Respond(res); err != nil {
		tx.Terminate()
		return
	}
	d.mu.Lock()
	if len(offer) > 0 {
		d.remoteSDP = offer
	}
	d.localSDP = answer
	d.mu.Unlock()
	err := d.retransmit2xx(d.ctx, w, func() error { return tx.Respond(res) })
	tx.Terminate()
	if errors.Is(err, ErrNoACK) {
		d.byeAfterFailure(EndTimeout, d.End().Code)
	}
}

// waitAckNon2xx waits briefly for the ACK of a non-2xx final answer and then
// frees the transaction (instead of 64*T1 of Timer H).
func (s *Stack) waitAckNon2xx(tx *sip.ServerTx) {
	t := time.NewTimer(max(s.cfg.Timers.TransactionLinger, s.cfg.Timers.T1))
	defer t.Stop()
	select {
	case <-tx.Acks():
	case <-tx.Done():
	case <-t.C:
	case <-s.closing:
	}
	tx.Terminate()
}

// copyHeaders copies every header of m as name/value strings, in order.
//
// It runs four times per B2BUA call (the INVITE, the callee's 180 and 200,
// the BYE). sipgo keeps Via, From, To, Contact, CSeq and the route headers
// parsed, and their Value builds a new string through a growing
// strings.Builder each time (Via's also parses its host with net.ParseIP).
// Those values are written instead into one buffer shared by the whole
// message and sliced out of a single string: a 200 OK's headers cost 10
// allocations instead of 31 (BenchmarkCopyHeaders). Generic headers (X-*,
// User-to-User, Diversion, …) and the string-typed ones already hold their
// value and are copied by reference.
func copyHeaders(m interface{ Headers() []sip.Header }) []Header {
	src := m.Headers()
	out := make([]Header, len(src))
	// Where each formatted value lies in buf (end 0: not formatted). Only
	// the first 32 headers are formatted into buf; later ones, rare, take
	// sipgo's path.
	var starts, ends [32]int32
	typed := 0
	for _, h := range src {
		if formattedHeader(h) {
			typed++
		}
	}
	var buf strings.Builder
	if typed > 0 {
		// Room for typical values (~60 bytes); a longer one grows buf once.
		buf.Grow(64 * typed)
	}
	for i, h := range src {
		out[i].Name = h.Name()
		if i >= len(ends) || !formattedHeader(h) {
			out[i].Value = h.Value()
			continue
		}
		start := buf.Len()
		switch v := h.(type) {
		case *sip.ViaHeader:
			writeVia(&buf, v)
		case *sip.CSeqHeader:
			var n [10]byte
			buf.Write(strconv.AppendUint(n[:0], uint64(v.SeqNo), 10))
			buf.WriteByte(' ')
			buf.WriteString(string(v.MethodName))
		default:
			// StringWrite writes "Name: value" (sipgo headers.go).
			start += len(out[i].Name) + 2
			h.StringWrite(&buf)
		}
		starts[i], ends[i] = int32(start), int32(buf.Len())
	}
	if buf.Len() > 0 {
		all := buf.String() // no copy: buf is not written again
		for i := range min(len(src), len(ends)) {
			if ends[i] > starts[i] {
				out[i].Value = all[starts[i]:ends[i]]
			}
		}
	}
	return out
}

// formattedHeader reports whether sipgo keeps h parsed, so that its Value
// would be built anew on every call.
func formattedHeader(h sip.Header) bool {
	switch h.(type) {
	case *sip.ViaHeader, *sip.FromHeader, *sip.ToHeader, *sip.ContactHeader, *sip.CSeqHeader,
		*sip.RouteHeader, *sip.RecordRouteHeader, *sip.ReferToHeader, *sip.ReferredByHeader:
		return true
	}
	return false
}

// writeVia writes a Via value as sipgo's ViaHeader.Value does
// ("SIP/2.0/UDP host:port;params", an IPv6 host in brackets), without its
// intermediate strings.
func writeVia(buf *strings.Builder, v *sip.ViaHeader) {
	buf.WriteString(v.ProtocolName)
	buf.WriteByte('/')
	buf.WriteString(v.ProtocolVersion)
	buf.WriteByte('/')
	buf.WriteString(v.Transport)
	buf.WriteByte(' ')
	if isBareIPv6(v.Host) {
		buf.WriteByte('[')
		buf.WriteString(v.Host)
		buf.WriteByte(']')
	} else {
		buf.WriteString(v.Host)
	}
	if v.Port > 0 {
		var n [20]byte
		buf.WriteByte(':')
		buf.Write(strconv.AppendInt(n[:0], int64(v.Port), 10))
	}
	if v.Params != nil && v.Params.Length() > 0 {
		buf.WriteByte(';')
		v.Params.ToStringWrite(';', buf)
	}
}

// isBareIPv6 is sipgo's test for a host that needs brackets: an IPv6
// literal without them (net.ParseIP accepts no zone, nor do we).
func isBareIPv6(host string) bool {
	if strings.IndexByte(host, ':') < 0 {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Is6() && !a.Is4In6() && a.Zone() == ""
}

// xHeaders filters X- and User-to-User headers (Twilio's SipHeader_*).
func xHeaders(hs []Header) []Header {
	var out []Header
	for _, h := range hs {
		if len(h.Name) > 2 && strings.EqualFold(h.Name[:2], "x-") || strings.EqualFold(h.Name, "User-to-User") {
			out = append(out, h)
		}
	}
	return out
}
