package callswitch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tandem/rtpengine"
	"tandem/sipstack"
	"tandem/twiml"
)

// answerTimeout bounds how long an answer waits for the caller's ACK.
const answerTimeout = 32 * time.Second

// answer answers an inbound call that is not answered yet, with one audio
// codec of its offer pinned (tandem does not transcode, so the legs dialled
// later are offered exactly that codec). Outbound legs are answered by the
// far end; for them answer does nothing.
func (c *Call) answer(ctx context.Context) error {
	if c.in == nil || c.legAnswered() {
		c.markAnswered()
		return nil
	}
	ans, chosen, err := pinCodec(c.remoteSDP, true)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	pinned, err := offerLike(c.remoteSDP, []string{chosen})
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	body, err := c.leg.RewriteSDP(ans)
	if err != nil {
		return fmt.Errorf("answer: rewrite SDP: %w", err)
	}
	c.pinned = pinned
	return c.answerWith(ctx, body)
}

// answerWith sends 200 OK with body (already pointing at this leg's media
// endpoint) and waits for the ACK.
func (c *Call) answerWith(ctx context.Context, body []byte) error {
	actx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	if err := c.in.Answer(actx, body, nil); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	c.sipLeg.setAnswered()
	// The leg's own call is answered, and so is the hand-off child that
	// answered it (they share the leg).
	c.sipLeg.owner.markAnswered()
	c.markAnswered()
	return nil
}

// hangupVerb carries out <Hangup>: as the first verb it still answers the
// call (and it is billed, §0), then it hangs up.
func (c *Call) hangupVerb() {
	if c.in != nil && !c.legAnswered() {
		if err := c.answer(c.ctx); err != nil {
			c.log.Debug("answer before hangup", "err", err)
		}
	}
	c.end(nil)
}

// rejectVerb carries out <Reject>: an unanswered inbound call gets 486
// (busy) or the configured code for "rejected" (603 by default) and ends as
// busy or no-answer (§8.1); on an answered call it hangs up.
func (c *Call) rejectVerb(r *twiml.Reject) {
	if c.virtual {
		// A hand-off child's <Reject> ends it (busy or no-answer for the
		// parent's Dial); the caller's leg stays with the parent.
		status := StatusNoAnswer
		if r.Reason == twiml.RejectBusy {
			status = StatusBusy
		}
		c.finishVirtual(status)
		return
	}
	if c.in == nil || c.legAnswered() {
		c.end(nil)
		return
	}
	c.sw.stats.rejected.Add(1)
	if r.Reason == twiml.RejectBusy {
		c.reject(c.sw.cfg.RejectBusyCode, StatusBusy)
		return
	}
	c.reject(c.sw.cfg.RejectRejectedCode, StatusNoAnswer)
}

// reject answers an unanswered inbound call with a final failure code.
func (c *Call) reject(code int, status string) {
	if err := c.in.Reject(code, "", nil); err != nil && !errors.Is(err, context.Canceled) {
		c.log.Debug("reject", "code", code, "err", err)
	}
	c.finish(status, code)
}

// end ends the call for cause (nil: the TwiML ended it or ran out).
func (c *Call) end(cause error) {
	if c.virtual {
		c.finishVirtual(StatusCompleted)
		return
	}
	if c.in != nil && !c.legAnswered() {
		c.endUnanswered(cause)
		return
	}
	var dlg *sipstack.Dialog
	switch {
	case c.in != nil:
		dlg = c.in.Dialog
	case c.out != nil:
		dlg = c.out.Dialog
	}
	code := 200
	if dlg != nil && !errors.Is(cause, errRemoteHangup) {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := dlg.Hangup(hctx, nil); err != nil {
			c.log.Debug("hangup", "err", err)
		}
		cancel()
	}
	if dlg != nil {
		if e := dlg.End(); e.Code != 0 {
			code = e.Code
		}
	}
	c.finish(StatusCompleted, code)
}

// endUnanswered ends an inbound call that was never answered.
func (c *Call) endUnanswered(cause error) {
	switch {
	case errors.Is(cause, errRemoteHangup):
		// The caller sent CANCEL (the stack answered 487).
		c.finish(StatusCanceled, 487)
	case errors.Is(cause, errAPIHangup), errors.Is(cause, errAPICancel):
		c.reject(487, StatusCanceled)
	case errors.Is(cause, errShutdown):
		c.reject(503, StatusFailed)
	case cause != nil:
		c.reject(500, StatusFailed)
	default:
		if code, status := c.lastDialFailure(); code != 0 {
			// A <Dial answerOnBridge> that failed on an unanswered call:
			// the caller hears the callee's answer (busy, no answer, …)
			// rather than an answer and a hang-up.
			c.reject(code, status)
			return
		}
		// An empty or exhausted document on an unanswered call: Twilio
		// answers and hangs up (and bills it).
		if err := c.answer(c.ctx); err != nil {
			c.reject(500, StatusFailed)
			return
		}
		c.end(nil)
	}
}

// lastDialFailure is the SIP code to relay to an unanswered caller after
// its Dial failed, mapped to what a caller's switch expects.
func (c *Call) lastDialFailure() (int, string) {
	c.mu.Lock()
	code := c.dialFailCode
	c.mu.Unlock()
	switch {
	case code == 0:
		return 0, ""
	case code == 486 || code == 600:
		return 486, StatusBusy
	case code == 487 || code == 408:
		return 480, StatusNoAnswer
	case code >= 400 && code < 700:
		return code, statusFromSIP(code)
	default:
		return 502, StatusFailed
	}
}

// setRemoteFromSDP points the leg's media at the far end described by sdp.
func setRemoteFromSDP(leg *rtpengine.Leg, sdp []byte) error {
	sd, err := rtpengine.ParseSDP(sdp)
	if err != nil {
		return err
	}
	if err := leg.SetRemote(sd.Audio.RTP(), sd.Audio.RTCP); err != nil {
		return err
	}
	leg.SetDirection(sd.Audio.Direction)
	if sd.Audio.ClockRate != 0 {
		leg.SetClockRate(sd.Audio.ClockRate)
	}
	return nil
}
