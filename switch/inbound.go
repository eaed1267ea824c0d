package callswitch

import (
	"context"
	"errors"
	"strings"
	"time"

	"tandem/rtpengine"
	"tandem/sipstack"
	"tandem/switch/webhook"
	"tandem/twiml"
)

// lookupTimeout bounds the store lookups an INVITE waits for.
const lookupTimeout = 5 * time.Second

// HandleInvite takes an admitted inbound INVITE (ARCHITECTURE.md "A call's
// way through", steps 2–5): resolve the dialled number to its application,
// make the Call, ring, fetch the TwiML and run it. It runs on the stack's
// goroutine for this call and returns when the call is over.
//
// The setup is in acceptInbound, so that the frames the call's goroutine
// keeps for the call's whole life stay small: the setup's 1.4 KiB frame
// made a held call's stack use over a quarter of 16 KiB, so the collector
// never shrank it (16 KiB per held call instead of 8).
func (s *Switch) HandleInvite(ic *sipstack.InboundCall) {
	if c, doc := s.acceptInbound(ic); c != nil {
		c.run(doc)
	}
}

// acceptInbound routes an inbound INVITE and makes its Call, rings and
// sets up the media; it returns the call and the document to run, or nil
// when it has answered the INVITE itself.
//
//go:noinline
func (s *Switch) acceptInbound(ic *sipstack.InboundCall) (*Call, *docSource) {
	if s.draining.Load() {
		_ = ic.Reject(503, "Service Unavailable", []sipstack.Header{{Name: "Retry-After", Value: "5"}})
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ic.Context(), lookupTimeout)
	route, acct, ok := s.routeInbound(ctx, ic)
	cancel()
	if !ok {
		return nil, nil
	}
	s.stats.inbound.Add(1)
	c := s.newCall(nil, DirectionInbound)
	c.in = ic
	c.account = acct
	c.app = route.Voice
	c.from = twilioAddress(ic.From())
	c.to = route.PhoneNumber
	if c.to == "" {
		c.to = twilioAddress(ic.To())
	}
	c.forwardedFrom = diversionNumber(ic)
	c.cb = statusCallback{url: route.Voice.StatusCallback, method: route.Voice.StatusCallbackMethod, events: twiml.CallCompleted}
	for _, h := range ic.Headers() {
		if isReportedInbound(h.Name) {
			c.extra = append(c.extra, webhook.Param{Name: "SipHeader_" + h.Name, Value: h.Value})
		}
	}
	if ic.Domain() != "" {
		c.extra = append(c.extra,
			webhook.Param{Name: "SipDomain", Value: ic.Domain()},
			webhook.Param{Name: "SipCallId", Value: ic.CallID()},
			webhook.Param{Name: "SipSourceIp", Value: ic.Source().Addr().String()},
		)
		if ic.Username() != "" {
			c.extra = append(c.extra, webhook.Param{Name: "SipUsername", Value: ic.Username()})
		}
		if route.Voice.SID != "" && strings.HasPrefix(route.Voice.SID, "SD") {
			c.extra = append(c.extra, webhook.Param{Name: "SipDomainSid", Value: route.Voice.SID})
		}
	}
	now := s.now()
	c.mu.Lock()
	c.rec.AccountSID = acct.SID
	c.rec.From, c.rec.To = c.from, c.to
	c.rec.PhoneNumberSID = route.NumberSID
	c.rec.SIPCallID = ic.CallID()
	c.rec.ForwardedFrom = c.forwardedFrom
	c.rec.StartTime = now
	c.rec.APIVersion = nonEmpty(route.Voice.APIVersion, "2010-04-01")
	c.mu.Unlock()
	c.log = withAttrs(c.log, "sip_call_id", ic.CallID())
	// The caller's CANCEL or BYE ends whatever the call is doing.
	context.AfterFunc(ic.Context(), func() { c.cancel(errRemoteHangup) })

	if err := c.setupInboundMedia(ic.Offer()); err != nil {
		c.log.Info("inbound media", "err", err)
		c.warn(codeInternal, "media: "+err.Error(), 0)
		c.reject(488, StatusFailed)
		return nil, nil
	}
	// 180 Ringing while the TwiML is fetched (§0).
	if err := ic.Progress(180, nil); err != nil {
		c.log.Debug("180", "err", err)
	}
	c.setStatus(StatusRinging)
	return c, &docSource{
		url: route.Voice.VoiceURL, method: route.Voice.VoiceMethod,
		fallbackURL: route.Voice.VoiceFallbackURL, fallbackMethod: route.Voice.VoiceFallbackMethod,
		status: StatusRinging,
	}
}

// routeInbound resolves the dialled number (the Request-URI's user) or the
// SIP domain of an authenticated client; it answers the INVITE itself when
// the call cannot be routed.
func (s *Switch) routeInbound(ctx context.Context, ic *sipstack.InboundCall) (NumberRoute, Account, bool) {
	var route NumberRoute
	var err error
	if ic.Domain() != "" {
		route, err = s.routeDomain(ctx, ic)
	} else {
		route, err = s.dir.LookupNumber(ctx, normalizeNumber(ic.Called()))
	}
	switch {
	case errors.Is(err, ErrNotFound):
		s.stats.rejected.Add(1)
		_ = ic.Reject(404, "Not Found", nil)
		return route, Account{}, false
	case err != nil:
		s.log.Error("route inbound call", "called", ic.Called(), "err", err)
		_ = ic.Reject(500, "Server Internal Error", nil)
		return route, Account{}, false
	case route.TrunkSID != "":
		// Elastic SIP trunking is not a TwiML call (§7.3): not carried.
		s.log.Info("number belongs to a trunk: not routable", "number", route.PhoneNumber, "trunk", route.TrunkSID)
		_ = ic.Reject(404, "Not Found", nil)
		return route, Account{}, false
	case route.Voice.VoiceURL == "":
		s.log.Info("number has no voice URL", "number", route.PhoneNumber)
		_ = ic.Reject(404, "Not Found", nil)
		return route, Account{}, false
	}
	acct, err := s.dir.Account(ctx, route.AccountSID)
	if err != nil || !acct.Active {
		s.log.Info("number's account is not active", "number", route.PhoneNumber, "account", route.AccountSID, "err", err)
		_ = ic.Reject(403, "Forbidden", nil)
		return route, Account{}, false
	}
	return route, acct, true
}

// setupInboundMedia gives the caller's leg its media endpoint and points it
// at the caller's offer.
func (c *Call) setupInboundMedia(offer []byte) error {
	sess, err := c.sw.media.NewSession(c.sid)
	if err != nil {
		return err
	}
	c.attachSession(sess)
	opts := rtpengine.LegOptions{Label: c.sid}
	if c.in.Domain() != "" && c.sw.cfg.ClientMedia == "dedicated" {
		// A registered client may be behind NAT: its own port, latched.
		opts.Port = rtpengine.PortDedicated
	}
	leg, err := sess.NewLeg(opts)
	if err != nil {
		return err
	}
	c.leg = leg
	c.remoteSDP = offer
	return setRemoteFromSDP(leg, offer)
}

// diversionNumber is the ForwardedFrom of a call: the user of the first
// Diversion header (RFC 5806), when the carrier supplied one.
func diversionNumber(ic *sipstack.InboundCall) string {
	v, ok := ic.Header("Diversion")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.TrimPrefix(strings.TrimPrefix(v, "sip:"), "tel:")
	user, _, _ := strings.Cut(v, "@")
	user, _, _ = strings.Cut(user, ";")
	if isPhoneLike(user) {
		return normalizeNumber(user)
	}
	return user
}

func nonEmpty(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
