package callswitch

import (
	"context"
	"fmt"
	"time"

	"tandem/sipstack"
	"tandem/switch/webhook"
	"tandem/twiml"
)

// transferResult tells the bridge what a REFER did.
type transferResult struct {
	// cont: the bridge goes on (newChild, if set, replaced the old callee).
	cont     bool
	newChild *Call
	// next is the referUrl document the staying call runs (cont false).
	next *docSource
	// after, with newChild, is what the staying call runs once the new
	// bridge ends: the referUrl document's Dial action, or its verbs after
	// the Dial (the original Dial's action no longer applies).
	after func(dialOutcome) *docSource
}

// transfer carries out an inbound REFER on a bridge (§5.1). The leg whose
// far end sent the REFER is the transferor (referrer); the other one stays.
// referUrl is requested with the referring call's parameters plus
// ReferTransferTarget; its TwiML runs for the call that stays. With
// answerOnBridge the old bridge stays up until the transfer target answers
// (and the caller is reconnected if it does not); without it the
// transferor is dropped at once.
func (c *Call) transfer(ctx context.Context, d *twiml.Dial, docURL string, child *Call, rr *referRequest) transferResult {
	referrer, stayer := rr.from, c
	if referrer == c {
		stayer = child
	}
	u, err := webhook.ResolveURL(docURL, d.ReferURL)
	if err != nil {
		c.warn(11100, fmt.Sprintf("referUrl %q: %v", d.ReferURL, err), d.Line)
		notifyRefer(rr.r, 503)
		return transferResult{cont: true}
	}
	src := &docSource{url: u, method: d.ReferMethod, params: referParams(rr.r)}
	// The referUrl document's Dials pass the transferor's Referred-By on.
	stayer.mu.Lock()
	stayer.referredBy = rr.r.ReferredBy
	stayer.mu.Unlock()
	c.log.Info("inbound REFER", "referrer", referrer.sid, "stays", stayer.sid, "refer_to", rr.r.ReferTo)

	if d.AnswerOnBridge {
		doc, docURL2, err := referrer.fetch(ctx, src)
		if err != nil {
			// The fetch failed: the caller stays with the transferor.
			c.log.Info("referUrl failed: transfer refused", "err", err)
			notifyRefer(rr.r, 503)
			return transferResult{cont: true}
		}
		if dial, ok := firstDial(doc); ok {
			res := c.transferDial(ctx, child, referrer, stayer, dial, docURL2, rr)
			if res.newChild != nil {
				res.after = func(out dialOutcome) *docSource { return afterReferDial(doc, dial, docURL2, out) }
			}
			return res
		}
		// Not a Dial: nothing to keep the old bridge for.
		return c.dropTransferor(child, referrer, stayer, &docSource{parsed: doc, parsedURL: docURL2}, rr)
	}
	// Without answerOnBridge: NOTIFY at once and drop the transferor, then
	// request referUrl for the call that stays.
	res := c.dropTransferor(child, referrer, stayer, nil, rr)
	fctx, cancel := context.WithTimeout(stayer.ctx, 20*time.Second)
	defer cancel()
	doc, docURL2, err := referrer.fetch(fctx, src)
	if err != nil {
		stayer.warn(11200, "referUrl: "+err.Error(), 0)
		if stayer == c {
			return transferResult{} // the Dial ends; the document continues
		}
		stayer.end(errTransferred)
		return transferResult{}
	}
	next := &docSource{parsed: doc, parsedURL: docURL2}
	if stayer == c {
		res.next = next
		return res
	}
	// The callee stays: it runs the document itself, then the call is over.
	stayer.run(next)
	return transferResult{}
}

// afterReferDial is where a referUrl document goes on once its first <Dial>
// (which carried out the transfer) is over.
func afterReferDial(doc *twiml.Response, dial *twiml.Dial, docURL string, out dialOutcome) *docSource {
	if dial.Action != nil {
		if u, err := webhook.ResolveURL(docURL, *dial.Action); err == nil {
			return &docSource{url: u, method: dial.Method, params: out.params()}
		}
	}
	return &docSource{parsed: &twiml.Response{Verbs: doc.Verbs[1:]}, parsedURL: docURL}
}

// firstDial returns the document's first verb when it is a <Dial> of
// numbers, SIP URIs or clients (an Application hand-off is not a transfer).
func firstDial(doc *twiml.Response) (*twiml.Dial, bool) {
	if len(doc.Verbs) == 0 {
		return nil, false
	}
	dial, ok := doc.Verbs[0].(*twiml.Dial)
	if !ok {
		return nil, false
	}
	for _, t := range dial.Targets {
		if _, app := t.(*twiml.Application); app {
			return nil, false
		}
	}
	return dial, true
}

// dropTransferor ends the transferor's leg after telling it the transfer
// succeeded; the stayer is left alone (unlinked).
func (c *Call) dropTransferor(child, referrer, stayer *Call, next *docSource, rr *referRequest) transferResult {
	notifyRefer(rr.r, 200)
	clearHooks(c, child)
	c.leg.Unlink()
	referrer.end(errTransferred)
	if stayer == c {
		return transferResult{next: next}
	}
	if next != nil {
		stayer.run(next)
	}
	return transferResult{}
}

// transferDial rings the referUrl's <Dial> targets while the old bridge is
// up (answerOnBridge); the first to answer replaces the transferor, who is
// told 200 and dropped. If none answers, the transferor hears the failure
// in a NOTIFY and the caller stays bridged to it.
func (c *Call) transferDial(ctx context.Context, child, referrer, stayer *Call, dial *twiml.Dial, docURL string, rr *referRequest) transferResult {
	var extra []sipstack.Header
	dctx := ctx
	if stayer != c {
		dctx = stayer.ctx
	}
	targets := stayer.resolveTargets(dial, docURL)
	var out dialOutcome
	if dial.Sequential {
		for i := range targets {
			out = stayer.dialGroup(dctx, dial, targets[i:i+1], extra)
			if out.bridged || dctx.Err() != nil {
				break
			}
		}
	} else {
		out = stayer.dialGroup(dctx, dial, targets, extra)
	}
	if !out.bridged {
		code := out.sipCode
		if code < 300 {
			code = 487
		}
		notifyRefer(rr.r, code)
		// The media of the old bridge was never unlinked: the caller is
		// back with the transferor.
		if p := stayer.leg.Peer(); p == nil || p != referrer.leg {
			_ = stayer.leg.Link(referrer.leg)
		}
		return transferResult{cont: true}
	}
	notifyRefer(rr.r, 200)
	referrer.end(errTransferred)
	if stayer == c {
		return transferResult{cont: true, newChild: out.child}
	}
	// The caller was the transferor: the callee now talks to the target,
	// bridged by the callee's call until one of them hangs up.
	stayer.bridge(stayer.ctx, dial, docURL, &out)
	stayer.end(nil)
	return transferResult{}
}

// notifyRefer reports a transfer's final status to the referrer (a NOTIFY
// with a message/sipfrag body, RFC 3515).
func notifyRefer(r *sipstack.IncomingRefer, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.Notify(ctx, code, reasonPhrase(code))
}

func reasonPhrase(code int) string {
	switch code {
	case 200:
		return "OK"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return "Failed"
}
