package callswitch

import (
	"context"

	"tandem/sipstack"
	"tandem/twiml"
)

// applicationDial hands the call to another application (§2.7).
func (c *Call) applicationDial(ctx context.Context, d *twiml.Dial, app *twiml.Application) dialOutcome {
	c.warn(codeSchemaWarning, "<Dial><Application> is not supported yet", app.Line)
	return dialOutcome{status: StatusFailed}
}

// returnParams records the <Parameter>s of a <Hangup>/<Reject> for the
// parent's Dial action.
func (c *Call) returnParams(ps []twiml.Parameter) {}

// clientTargets resolves <Client> to the registered contacts of the
// identity.
func (c *Call) clientTargets(n *twiml.Client) []dialTarget {
	return []dialTarget{{kind: "client", to: "client:" + n.Identity, fail: "client " + n.Identity + " has no registered contact", failCode: 13224}}
}

// referVerb carries out <Refer>.
func (c *Call) referVerb(ctx context.Context, r *twiml.Refer, docURL string) (*docSource, bool, error) {
	c.warn(codeSchemaWarning, "<Refer> is not supported yet", r.Line)
	return nil, false, nil
}

// referHook handles an inbound REFER on a bridged leg.
func (c *Call) referHook(other *Call) func(ctx context.Context, r *sipstack.IncomingRefer) int {
	return nil
}

// routeDomain routes a call from an authenticated client of a SIP domain to
// the domain's voice URL.
func (s *Switch) routeDomain(ctx context.Context, ic *sipstack.InboundCall) (NumberRoute, error) {
	return NumberRoute{}, ErrNotFound
}
