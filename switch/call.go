package callswitch

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tandem/rtpengine"
	"tandem/sipstack"
	"tandem/switch/webhook"
	"tandem/twiml"
)

// Why a call stopped what it was doing (context causes).
var (
	errRedirect     = errors.New("redirected through the REST API")
	errAPIHangup    = errors.New("hung up through the REST API")
	errAPICancel    = errors.New("canceled through the REST API")
	errRemoteHangup = errors.New("the far end hung up")
	errShutdown     = errors.New("tandem is shutting down")
	errMediaTimeout = errors.New("media timeout")
	errTimeLimit    = errors.New("call time limit reached")
	errBridgeEnded  = errors.New("the other leg of the bridge ended")
	errTransferred  = errors.New("transferred by REFER")
)

// newCallSID returns a Twilio-shaped call SID: "CA" and 32 lowercase hex
// digits. The first 16 are the creation time in Unix nanoseconds and the
// last 16 come from crypto/rand, so SIDs stay unique and unguessable but
// sort by creation: the store's index on the SID then grows at its end
// instead of touching a random page for every record, which made each call
// record cost about 2.5 times as much to write (control/store
// BenchmarkCallRecordWorkload).
func newCallSID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	if _, err := rand.Read(b[8:]); err != nil {
		panic("crypto/rand: " + err.Error()) // the kernel's CSPRNG does not fail
	}
	var out [34]byte
	copy(out[:2], "CA")
	hex.Encode(out[2:], b[:])
	return string(out[:])
}

// statusCallback is where a call's progress is reported (§3.4).
type statusCallback struct {
	url    string
	method string
	events twiml.CallEvents
}

// Call is one call leg: an inbound caller, a REST-started call, or a leg a
// <Dial> made. Calls that run TwiML (inbound and outbound-api) are
// "controlling" calls; dialled legs are their children.
type Call struct {
	sw      *Switch
	log     *slog.Logger
	sid     string
	parent  *Call
	account Account
	// app is where the controlling call's TwiML and callbacks come from.
	app Application

	direction     string
	from, to      string
	forwardedFrom string
	// extra parameters sent on every request of this call: SipHeader_*,
	// SipDomain, … (§3.3).
	extra []webhook.Param
	cb    statusCallback
	seq   atomic.Int32
	jar   *webhook.CookieJar

	// The SIP leg and its media endpoint. A <Dial><Application> child
	// shares its parent's (no new leg, no new media path).
	*sipLeg
	// virtual is set on an Application hand-off's child call.
	virtual bool
	// dialled is what an outbound leg dialled (for logs and records).
	dialled string
	// sess is the call tree's media session; sessRefs counts the live calls
	// of the tree, the last of which closes it (a transfer may leave a
	// child alive after its parent).
	sess     *rtpengine.Session
	sessRefs *atomic.Int32

	ctx    context.Context
	cancel context.CancelCauseFunc
	// done is closed when the call has finished.
	done chan struct{}

	mu        sync.Mutex
	rec       CallRecord
	answered  bool
	answerAt  time.Time
	finished  bool
	pending   *docSource
	docCancel context.CancelCauseFunc
	timeLimit time.Duration
	// depth counts <Dial><Application> hand-offs above this call.
	depth int
	// dialFailCode is the SIP code of the last <Dial> that failed on an
	// unanswered call (relayed to the caller if the document ends).
	dialFailCode int
	// handoffStatus is what a hand-off child reports to its parent's Dial
	// (completed, busy, no-answer, failed); retParams its <Hangup>/<Reject>
	// parameters (ReturnParam_*).
	handoffStatus string
	retParams     []twiml.Parameter
	// referredBy is the Referred-By of the REFER whose referUrl document
	// this call runs: passed on in the INVITEs it sends (RFC 3892).
	referredBy string
}

// sipLeg is one SIP leg and its media endpoint.
type sipLeg struct {
	// owner is the call whose leg this is.
	owner *Call
	// Exactly one of in and out.
	in  *sipstack.InboundCall
	out *sipstack.OutboundCall
	leg *rtpengine.Leg
	// remoteSDP is the far end's offer (inbound) or answer (outbound); for
	// an inbound call answered before it was bridged, pinned is the offer
	// reduced to the codec tandem answered with.
	remoteSDP []byte
	pinned    []byte
	// offerSDP is the offer tandem sent on an outbound leg.
	offerSDP []byte

	mu       sync.Mutex
	answered bool
}

// legAnswered reports whether the SIP leg has been answered (for an
// outbound leg: whether the far end answered).
func (l *sipLeg) legAnswered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered
}

func (l *sipLeg) setAnswered() {
	l.mu.Lock()
	l.answered = true
	l.mu.Unlock()
}

// newCall registers a live call leg.
func (s *Switch) newCall(parent *Call, direction string) *Call {
	c := &Call{sw: s, sid: newCallSID(time.Now()), parent: parent, direction: direction, jar: webhook.NewCookieJar(), done: make(chan struct{})}
	c.sipLeg = &sipLeg{owner: c}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	now := s.now()
	c.rec = CallRecord{SID: c.sid, Direction: direction, DateCreated: now, DateUpdated: now, APIVersion: "2010-04-01"}
	if parent != nil {
		c.rec.ParentCallSID = parent.sid
		c.account = parent.account
		c.rec.AccountSID = parent.account.SID
		c.sess = parent.sess
		c.sessRefs = parent.sessRefs
		if c.sessRefs != nil {
			c.sessRefs.Add(1)
		}
		c.depth = parent.depth
	}
	c.log = withAttrs(s.log, "call_sid", c.sid)
	s.calls.Store(c.sid, c)
	s.stats.active.Add(1)
	s.wg.Add(1)
	return c
}

// attachSession makes sess the media session of this (root) call's tree.
func (c *Call) attachSession(sess *rtpengine.Session) {
	c.sess = sess
	c.sessRefs = new(atomic.Int32)
	c.sessRefs.Store(1)
}

// root is the controlling call at the top of this call's tree.
func (c *Call) root() *Call {
	r := c
	for r.parent != nil {
		r = r.parent
	}
	return r
}

// interrupt stops what the call is doing: a redirect replaces the running
// document with src; any other cause ends the call.
func (c *Call) interrupt(cause error, src *docSource) {
	if cause == errRedirect {
		c.mu.Lock()
		c.pending = src
		cancel := c.docCancel
		c.mu.Unlock()
		if cancel != nil {
			cancel(errRedirect)
		}
		return
	}
	c.cancel(cause)
}

// status returns the call's current status.
func (c *Call) status() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.Status
}

// record returns a copy of the call record.
func (c *Call) record() CallRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec
}

// isAnswered reports whether the leg has been answered.
func (c *Call) isAnswered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered
}

// save writes the record; failures are logged (the store is local and the
// writer queues, so a failure here means the store is closed).
func (c *Call) save(rec CallRecord) {
	if err := c.sw.dir.SaveCall(context.Background(), rec); err != nil {
		c.log.Error("save call record", "err", err)
	}
}

// setStatus moves the call to a non-terminal status, saves the record and
// fires the matching status callback.
func (c *Call) setStatus(status string) {
	c.mu.Lock()
	if c.finished || c.rec.Status == status {
		c.mu.Unlock()
		return
	}
	now := c.sw.now()
	c.rec.Status = status
	c.rec.DateUpdated = now
	if status == StatusInProgress && !c.answered {
		c.answered = true
		c.answerAt = now
	}
	if status == StatusInitiated || (status == StatusRinging && c.rec.StartTime.IsZero()) || status == StatusInProgress && c.rec.StartTime.IsZero() {
		c.rec.StartTime = now
	}
	rec := c.rec
	c.mu.Unlock()
	c.save(rec)
	switch status {
	case StatusInitiated:
		c.callback(twiml.CallInitiated, status, 0)
	case StatusRinging:
		c.callback(twiml.CallRinging, status, 0)
	case StatusInProgress:
		c.callback(twiml.CallAnswered, status, 0)
	}
}

// markAnswered records the answer (status in-progress).
func (c *Call) markAnswered() { c.setStatus(StatusInProgress) }

// warn records a warning or error on the call: on its record (the last
// one) and as a Notification, and in the log with its line.
func (c *Call) warn(code int, msg string, line int) {
	c.sw.stats.warnings.Add(1)
	if line > 0 {
		c.log.Warn("twiml", "code", code, "line", line, "msg", msg)
	} else {
		c.log.Warn("call warning", "code", code, "msg", msg)
	}
	now := c.sw.now()
	c.mu.Lock()
	c.rec.ErrorCode = code
	c.rec.ErrorMessage = msg
	if line > 0 {
		c.rec.ErrorMessage = msg + " (line " + strconv.Itoa(line) + ")"
	}
	account := c.account.SID
	c.mu.Unlock()
	// Twilio's message_text is form-encoded (Msg=…&LineNumber=…).
	text := url.Values{"Msg": {msg}}
	if line > 0 {
		text.Set("LineNumber", strconv.Itoa(line))
	}
	n := Notification{AccountSID: account, CallSID: c.sid, ErrorCode: code, Warning: isWarningCode(code), MessageText: text.Encode(), Date: now}
	if account == "" {
		return // a call refused before it was routed has no account to list it under
	}
	if err := c.sw.dir.SaveNotification(context.Background(), n); err != nil {
		c.log.Error("save notification", "err", err)
	}
}

// isWarningCode tells warnings (the call goes on: schema warnings, 13xxx
// attribute warnings) from errors.
func isWarningCode(code int) bool {
	return code == codeSchemaWarning || code >= 13000 && code < 14000
}

// finish ends the call's record: terminal status, end time, duration; it
// fires the completed callback, releases the media leg and forgets the
// call. It runs once.
func (c *Call) finish(status string, sipCode int) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	now := c.sw.now()
	if c.answered && !c.virtual && (status == StatusCanceled || status == StatusNoAnswer || status == StatusBusy) {
		status = StatusCompleted
	}
	c.rec.Status = status
	c.rec.EndTime = now
	c.rec.DateUpdated = now
	if sipCode != 0 {
		c.rec.SIPResponseCode = sipCode
	}
	if c.answered {
		c.rec.Duration = int(now.Sub(c.answerAt).Round(time.Second) / time.Second)
		c.rec.HasDuration = true
	} else if status == StatusCompleted {
		c.rec.Duration, c.rec.HasDuration = 0, true
	}
	if c.rec.StartTime.IsZero() && status != StatusCanceled {
		c.rec.StartTime = now
	}
	rec := c.rec
	c.mu.Unlock()

	// A call canceled while still queued fires no callbacks (§3.4).
	if status == StatusCanceled && rec.StartTime.IsZero() || !c.wantsCallback(twiml.CallCompleted) {
		c.save(rec)
	} else if stored, err := c.sw.dir.SaveFinalCall(context.Background(), rec); err != nil {
		c.log.Error("save call record", "err", err)
		c.callback(twiml.CallCompleted, status, rec.SIPResponseCode)
	} else {
		// The completed callback goes out once the record is stored (a few
		// ms: the writer's group commit); the call does not wait for it.
		c.sw.wg.Add(1)
		go func() {
			defer c.sw.wg.Done()
			<-stored
			c.callback(twiml.CallCompleted, status, rec.SIPResponseCode)
		}()
	}
	if c.leg != nil && c.sipLeg.owner == c {
		c.leg.Unlink()
		if err := c.leg.Release(); err != nil {
			c.log.Debug("release media leg", "err", err)
		}
	}
	if c.sessRefs != nil && c.sessRefs.Add(-1) == 0 {
		if err := c.sess.Close(); err != nil {
			c.log.Debug("close media session", "err", err)
		}
	}
	switch status {
	case StatusCompleted:
		c.sw.stats.completed.Add(1)
	case StatusFailed:
		c.sw.stats.failed.Add(1)
	}
	c.cancel(context.Canceled)
	close(c.done)
	c.sw.calls.Delete(c.sid)
	c.sw.stats.active.Add(-1)
	c.sw.wg.Done()
}

// duration is the call's answered time so far, in whole seconds.
func (c *Call) duration() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.answered {
		return 0
	}
	end := c.sw.now()
	if !c.rec.EndTime.IsZero() {
		end = c.rec.EndTime
	}
	return int(end.Sub(c.answerAt).Round(time.Second) / time.Second)
}

// params are the standard request parameters of this call (§3.2) for the
// given status, followed by the call's extra parameters.
func (c *Call) params(status string) []webhook.Param {
	p := make([]webhook.Param, 0, 12+len(c.extra))
	p = append(p,
		webhook.Param{Name: "CallSid", Value: c.sid},
		webhook.Param{Name: "AccountSid", Value: c.account.SID},
		webhook.Param{Name: "From", Value: c.from},
		webhook.Param{Name: "To", Value: c.to},
		webhook.Param{Name: "CallStatus", Value: status},
		webhook.Param{Name: "ApiVersion", Value: "2010-04-01"},
		webhook.Param{Name: "Direction", Value: c.direction},
		webhook.Param{Name: "Caller", Value: c.from},
		webhook.Param{Name: "Called", Value: c.to},
	)
	if c.parent != nil {
		p = append(p, webhook.Param{Name: "ParentCallSid", Value: c.parent.sid})
	}
	if c.forwardedFrom != "" {
		p = append(p, webhook.Param{Name: "ForwardedFrom", Value: c.forwardedFrom})
	}
	return append(p, c.extra...)
}

// wantsCallback reports whether the call has a status callback for event.
func (c *Call) wantsCallback(event twiml.CallEvents) bool {
	return c.cb.url != "" && c.cb.events.Has(event)
}

// callback sends a status callback for event if the call subscribed to it.
func (c *Call) callback(event twiml.CallEvents, status string, sipCode int) {
	if !c.wantsCallback(event) {
		return
	}
	seq := int(c.seq.Add(1) - 1)
	p := c.params(status)
	if event == twiml.CallCompleted {
		d := c.duration()
		p = append(p, webhook.Param{Name: "CallDuration", Value: strconv.Itoa(d)})
		if c.direction == DirectionOutboundAPI {
			// Duration is billed minutes, on completed REST calls.
			p = append(p, webhook.Param{Name: "Duration", Value: strconv.Itoa((d + 59) / 60)})
		}
		if sipCode != 0 {
			p = append(p, webhook.Param{Name: "SipResponseCode", Value: strconv.Itoa(sipCode)})
		}
	}
	p = append(p,
		webhook.Param{Name: "Timestamp", Value: c.sw.now().UTC().Format(time.RFC1123Z)},
		webhook.Param{Name: "CallbackSource", Value: "call-progress-events"},
		webhook.Param{Name: "SequenceNumber", Value: strconv.Itoa(seq)},
	)
	c.sw.hooks.Notify(webhook.Callback{
		CallSid: c.sid, SequenceNumber: seq,
		URL: c.cb.url, Method: c.cb.method, Params: p, AuthToken: c.account.AuthToken,
	})
}
