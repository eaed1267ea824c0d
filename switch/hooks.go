package callswitch

import (
	"context"

	"tandem/sipstack"
	"tandem/twiml"
)

// dialog returns the call's SIP dialog.
func (c *Call) dialog() *sipstack.Dialog {
	switch {
	case c.in != nil:
		return c.in.Dialog
	case c.out != nil:
		return c.out.Dialog
	}
	return nil
}

// setBridgeHooks passes re-INVITEs (hold, resume, codec changes) between
// two bridged legs (the offer goes to the other leg rewritten for its media
// endpoint, and that leg's answer comes back rewritten for this one), and
// takes either side's REFER for the Dial's referUrl (§5.1).
func setBridgeHooks(a, b *Call, d *twiml.Dial, refers chan<- *referRequest) {
	da, db := a.dialog(), b.dialog()
	if da == nil || db == nil {
		return
	}
	da.SetHooks(sipstack.DialogHooks{ReInvite: forwardReInvite(a, b), Refer: a.referHook(d, a, refers)})
	db.SetHooks(sipstack.DialogHooks{ReInvite: forwardReInvite(b, a), Refer: a.referHook(d, b, refers)})
}

// clearHooks returns both dialogs to the stack's defaults (re-INVITEs
// answered with the last SDP, REFER refused).
func clearHooks(a, b *Call) {
	if d := a.dialog(); d != nil {
		d.SetHooks(sipstack.DialogHooks{})
	}
	if d := b.dialog(); d != nil {
		d.SetHooks(sipstack.DialogHooks{})
	}
}

func forwardReInvite(from, to *Call) func(ctx context.Context, offer []byte) ([]byte, int) {
	return func(ctx context.Context, offer []byte) ([]byte, int) {
		if err := setRemoteFromSDP(from.leg, offer); err != nil {
			from.log.Info("re-INVITE with bad SDP", "err", err)
			return nil, 488
		}
		out, err := to.leg.RewriteSDP(offer)
		if err != nil {
			return nil, 488
		}
		dlg := to.dialog()
		if dlg == nil {
			return nil, 481
		}
		ans, err := dlg.ReInvite(ctx, out)
		if err != nil {
			from.log.Info("re-INVITE to the other leg failed", "err", err)
			return nil, sipstack.StatusCode(err)
		}
		if err := setRemoteFromSDP(to.leg, ans); err != nil {
			return nil, 488
		}
		body, err := from.leg.RewriteSDP(ans)
		if err != nil {
			return nil, 500
		}
		return body, 200
	}
}
