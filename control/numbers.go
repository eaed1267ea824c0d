package control

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"tandem/control/store"
)

func listNumbers(a *API, q *request) error {
	pr, err := parsePage(q)
	if err != nil {
		return err
	}
	f := store.PhoneNumberFilter{AccountSID: q.acct.SID, FriendlyName: q.get("FriendlyName")}
	if q.has("PhoneNumber") {
		p := q.get("PhoneNumber")
		for i := 0; i < len(p); i++ {
			if c := p[i]; !(c >= '0' && c <= '9' || c == '*' || c == '+' && i == 0) || len(p) > 16 {
				return badRequest(CodeInvalidPhoneNumber, "PhoneNumber filter must be digits, an optional leading + and * for one digit")
			}
		}
		f.PhoneNumber = p
	}
	if q.has("Origin") {
		f.Origin = q.get("Origin")
		if f.Origin != "twilio" && f.Origin != "hosted" {
			return invalidParam("Origin must be twilio or hosted")
		}
	}
	if q.has("Beta") {
		beta, err := strconv.ParseBool(q.get("Beta"))
		if err != nil {
			return invalidParam("Beta must be true or false")
		}
		// Twilio: Beta=true (the default) includes numbers new to the
		// platform, Beta=false leaves them out.
		if !beta {
			f.Beta = &beta
		}
	}
	items, err := a.st.ListPhoneNumbers(q.ctx, f, pr.sp)
	if err != nil {
		return listErr(err)
	}
	return writePage(q, "incoming_phone_numbers", filtersFrom(q, "Beta", "FriendlyName", "PhoneNumber", "Origin"), pr, items,
		func(x store.PhoneNumber) string { return x.SID }, renderNumber)
}

// bindNumber applies the §7.3 parameters present in the request. owner is
// the account the number belongs to after the request (a move changes it):
// applications must be that account's.
func bindNumber(a *API, q *request, n *store.PhoneNumber, owner string) error {
	b := binder{q: q, urlCode: CodeInvalidURL}
	b.text("FriendlyName", maxFriendlyName, &n.FriendlyName)
	b.apiVersion(&n.APIVersion)
	b.url("VoiceUrl", &n.VoiceURL)
	b.method("VoiceMethod", &n.VoiceMethod)
	b.url("VoiceFallbackUrl", &n.VoiceFallbackURL)
	b.method("VoiceFallbackMethod", &n.VoiceFallbackMethod)
	b.boolean("VoiceCallerIdLookup", &n.VoiceCallerIDLookup)
	b.oneOf("VoiceReceiveMode", &n.VoiceReceiveMode, "voice", "fax")
	b.url("StatusCallback", &n.StatusCallback)
	b.method("StatusCallbackMethod", &n.StatusCallbackMethod)
	b.url("SmsUrl", &n.SMSURL)
	b.method("SmsMethod", &n.SMSMethod)
	b.url("SmsFallbackUrl", &n.SMSFallbackURL)
	b.method("SmsFallbackMethod", &n.SMSFallbackMethod)
	b.sid("AddressSid", "AD", &n.AddressSID)
	b.sid("IdentitySid", "RI", &n.IdentitySID)
	b.sid("BundleSid", "BU", &n.BundleSID)
	b.sid("EmergencyAddressSid", "AD", &n.EmergencyAddressSID)
	b.oneOf("EmergencyStatus", &n.EmergencyStatus, "Active", "Inactive")
	var voiceApp, smsApp, trunk string
	b.sid("VoiceApplicationSid", "AP", &voiceApp)
	b.sid("SmsApplicationSid", "AP", &smsApp)
	b.sid("TrunkSid", "TK", &trunk)
	if b.err != nil {
		return b.err
	}
	// §7.3: setting voice_application_sid clears trunk_sid and the reverse.
	if voiceApp != "" && trunk != "" {
		return invalidParam("VoiceApplicationSid and TrunkSid are exclusive: give one")
	}
	if q.has("VoiceApplicationSid") {
		n.VoiceApplicationSID = voiceApp
		if voiceApp != "" {
			n.TrunkSID = ""
		}
	}
	if q.has("TrunkSid") {
		n.TrunkSID = trunk
		if trunk != "" {
			n.VoiceApplicationSID = ""
		}
	}
	if q.has("SmsApplicationSid") {
		n.SMSApplicationSID = smsApp
	}
	for _, ref := range []struct{ name, sid string }{
		{"VoiceApplicationSid", n.VoiceApplicationSID}, {"SmsApplicationSid", n.SMSApplicationSID},
	} {
		if ref.sid == "" {
			continue
		}
		app, err := a.st.Application(q.ctx, ref.sid)
		if errors.Is(err, store.ErrNotFound) || err == nil && app.AccountSID != owner {
			return badRequest(CodeInvalidAppSID, "%s %s is not an application of account %s", ref.name, ref.sid, owner)
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", ref.name, err)
		}
	}
	if e := fallbackRule(n.VoiceURL, n.VoiceFallbackURL, "VoiceFallbackUrl", "VoiceUrl",
		n.SMSURL, n.SMSFallbackURL, "SmsFallbackUrl", "SmsUrl"); e != nil {
		return e
	}
	return nil
}

func createNumber(a *API, q *request) error {
	e164 := q.get("PhoneNumber")
	switch {
	case e164 == "" && q.get("AreaCode") != "":
		return invalidParam("AreaCode is not supported: tandem does not buy numbers; give the PhoneNumber you route to it")
	case e164 == "":
		return badRequest(CodeNumberInvalid, "PhoneNumber is required")
	case !validE164(e164):
		return badRequest(CodeNumberInvalid, "PhoneNumber %s is not a valid E.164 number (+ and up to 15 digits)", clip(e164))
	}
	now := a.now().UTC()
	n := store.PhoneNumber{
		SID: store.NewSID("PN"), AccountSID: q.acct.SID, PhoneNumber: e164, FriendlyName: formatNumber(e164),
		APIVersion: "2010-04-01", Capabilities: store.Capabilities{Voice: true},
		VoiceMethod: "POST", VoiceFallbackMethod: "POST", StatusCallbackMethod: "POST",
		SMSMethod: "POST", SMSFallbackMethod: "POST", VoiceReceiveMode: "voice",
		AddressRequirements: "none", EmergencyStatus: "Inactive", EmergencyAddressStatus: "unregistered",
		Origin: "hosted", Status: "in-use", Type: "local", DateCreated: now, DateUpdated: now,
	}
	if err := bindNumber(a, q, &n, q.acct.SID); err != nil {
		return err
	}
	if err := a.st.CreatePhoneNumber(q.ctx, n); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return badRequest(CodeNumberUnavailable, "PhoneNumber %s is not available: it is already in use", e164)
		}
		if errors.Is(err, store.ErrNotFound) { // the application was deleted meanwhile
			return badRequest(CodeInvalidAppSID, "VoiceApplicationSid or SmsApplicationSid no longer exists")
		}
		return fmt.Errorf("create phone number: %w", err)
	}
	return q.json(http.StatusCreated, renderNumber(n))
}

// ownNumber reads the path's number of the path's account.
func ownNumber(a *API, q *request) (store.PhoneNumber, error) {
	return owned(q, "PN", q.param("Sid"), a.st.PhoneNumber, func(x store.PhoneNumber) string { return x.AccountSID }, q.acct.SID)
}

func fetchNumber(a *API, q *request) error {
	n, err := ownNumber(a, q)
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, renderNumber(n))
}

// updateNumber also moves a number between accounts the caller manages
// (AccountSid, twilio-voice.md §7.3); the number then drops applications of
// the account it left, unless the request names the new account's.
func updateNumber(a *API, q *request) error {
	n, err := ownNumber(a, q)
	if err != nil {
		return err
	}
	owner := n.AccountSID
	if q.has("AccountSid") && q.get("AccountSid") != owner {
		target, err := a.accountFor(q.ctx, q.caller, q.get("AccountSid"), q.r.URL.Path)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == CodeNotFound {
				return invalidParam("AccountSid %s is not an account this one manages", clip(q.get("AccountSid")))
			}
			return err
		}
		if target.Status != store.AccountActive {
			return invalidParam("AccountSid %s is %s", target.SID, target.Status)
		}
		owner = target.SID
		n.AccountSID = owner
		if !q.has("VoiceApplicationSid") {
			n.VoiceApplicationSID = ""
		}
		if !q.has("SmsApplicationSid") {
			n.SMSApplicationSID = ""
		}
	}
	if err := bindNumber(a, q, &n, owner); err != nil {
		return err
	}
	n.DateUpdated = a.now().UTC()
	if err := a.st.UpdatePhoneNumber(q.ctx, n); err != nil {
		return q.storeErr(err, "update phone number")
	}
	return q.json(http.StatusOK, renderNumber(n))
}

func deleteNumber(a *API, q *request) error {
	if err := a.st.DeletePhoneNumber(q.ctx, q.acct.SID, q.param("Sid")); err != nil {
		return q.storeErr(err, "delete phone number")
	}
	return q.noContent()
}
