package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"tandem/control"
	"tandem/control/store"
	"tandem/sipstack"
	callswitch "tandem/switch"
)

// The switch, the control API and the SIP stack each declare the small
// interface they need; the adapters below meet them with the store and with
// each other, so that no library package imports another it should not
// (ARCHITECTURE.md "Layout").

// directory adapts the store to callswitch.Directory.
type directory struct {
	st     store.Store
	writer *store.CallWriter
}

func (d directory) LookupNumber(ctx context.Context, e164 string) (callswitch.NumberRoute, error) {
	r, err := d.st.LookupNumber(ctx, e164)
	if err != nil {
		return callswitch.NumberRoute{}, mapNotFound(err)
	}
	v := r.Voice()
	app := callswitch.Application{
		SID: v.ApplicationSID, AccountSID: r.Number.AccountSID, APIVersion: v.APIVersion,
		VoiceURL: v.URL, VoiceMethod: v.Method, VoiceFallbackURL: v.FallbackURL, VoiceFallbackMethod: v.FallbackMethod,
		StatusCallback: v.StatusCallback, StatusCallbackMethod: v.StatusCallbackMethod,
	}
	if r.HasApplication {
		app.PublicApplicationConnectEnabled = r.Application.PublicApplicationConnectEnabled
	}
	return callswitch.NumberRoute{
		NumberSID: r.Number.SID, AccountSID: r.Number.AccountSID, PhoneNumber: r.Number.PhoneNumber,
		Voice: app, TrunkSID: v.TrunkSID,
	}, nil
}

func (d directory) Application(ctx context.Context, sid string) (callswitch.Application, error) {
	a, err := d.st.Application(ctx, sid)
	if err != nil {
		return callswitch.Application{}, mapNotFound(err)
	}
	return appFromStore(a), nil
}

func appFromStore(a store.Application) callswitch.Application {
	return callswitch.Application{
		SID: a.SID, AccountSID: a.AccountSID, APIVersion: a.APIVersion,
		VoiceURL: a.VoiceURL, VoiceMethod: a.VoiceMethod,
		VoiceFallbackURL: a.VoiceFallbackURL, VoiceFallbackMethod: a.VoiceFallbackMethod,
		StatusCallback: a.StatusCallback, StatusCallbackMethod: a.StatusCallbackMethod,
		PublicApplicationConnectEnabled: a.PublicApplicationConnectEnabled,
	}
}

func (d directory) Account(ctx context.Context, sid string) (callswitch.Account, error) {
	a, err := d.st.Account(ctx, sid)
	if err != nil {
		return callswitch.Account{}, mapNotFound(err)
	}
	parent := ""
	if !a.IsMain() {
		parent = a.OwnerSID
	}
	return callswitch.Account{SID: a.SID, ParentSID: parent, AuthToken: a.AuthToken, Active: a.Status == store.AccountActive}, nil
}

func (d directory) SaveCall(ctx context.Context, rec callswitch.CallRecord) error {
	return d.writer.Save(ctx, callToStore(rec))
}

func (d directory) SaveFinalCall(ctx context.Context, rec callswitch.CallRecord) (<-chan struct{}, error) {
	return d.writer.SaveNotify(ctx, callToStore(rec))
}

func (d directory) SaveNotification(ctx context.Context, n callswitch.Notification) error {
	log := store.NotificationError
	if n.Warning {
		log = store.NotificationWarning
	}
	return d.writer.SaveNotification(ctx, store.Notification{
		AccountSID: n.AccountSID, CallSID: n.CallSID, APIVersion: "2010-04-01",
		ErrorCode: n.ErrorCode, Log: log, MessageText: n.MessageText, MessageDate: n.Date,
	})
}

func (d directory) Domain(ctx context.Context, name string) (callswitch.Domain, error) {
	dom, err := d.st.SIPDomainByName(ctx, name)
	if err != nil {
		return callswitch.Domain{}, mapNotFound(err)
	}
	return domainFromStore(dom), nil
}

func domainFromStore(d store.SIPDomain) callswitch.Domain {
	return callswitch.Domain{
		SID: d.SID, AccountSID: d.AccountSID, Name: d.DomainName,
		VoiceURL: d.VoiceURL, VoiceMethod: d.VoiceMethod,
		VoiceFallbackURL: d.VoiceFallbackURL, VoiceFallbackMethod: d.VoiceFallbackMethod,
		StatusCallback: d.VoiceStatusCallbackURL, StatusCallbackMethod: d.VoiceStatusCallbackMethod,
		Registration: d.SIPRegistration,
	}
}

func (d directory) ClientDomains(ctx context.Context, accountSID string) ([]string, error) {
	var names []string
	page := store.Page{Size: 1000}
	for {
		doms, err := d.st.ListSIPDomains(ctx, accountSID, page)
		if err != nil {
			return nil, err
		}
		for _, dom := range doms {
			if dom.SIPRegistration {
				names = append(names, dom.DomainName)
			}
		}
		if len(doms) < page.Size {
			return names, nil
		}
		page.After = doms[len(doms)-1].SID
	}
}

func callToStore(r callswitch.CallRecord) store.Call {
	c := store.Call{
		SID: r.SID, AccountSID: r.AccountSID, ParentCallSID: r.ParentCallSID, Direction: r.Direction,
		From: r.From, To: r.To, FromFormatted: formatNumber(r.From), ToFormatted: formatNumber(r.To),
		Status: r.Status, StartTime: r.StartTime, EndTime: r.EndTime,
		AnsweredBy: r.AnsweredBy, ForwardedFrom: r.ForwardedFrom, CallerName: r.CallerName,
		SIPCallID: r.SIPCallID, SIPResponseCode: r.SIPResponseCode,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
		PhoneNumberSID: r.PhoneNumberSID, APIVersion: r.APIVersion, TrunkSID: r.TrunkSID,
		DateCreated: r.DateCreated, DateUpdated: r.DateUpdated,
	}
	if r.HasDuration {
		c.Duration = sql.Null[int64]{V: int64(r.Duration), Valid: true}
	}
	if r.QueueTime > 0 {
		c.QueueTime = sql.Null[int64]{V: r.QueueTime.Milliseconds(), Valid: true}
	}
	return c
}

// formatNumber is Twilio's *_formatted field: North American numbers as
// (415) 555-1212, other values unchanged.
func formatNumber(s string) string {
	if len(s) == 12 && strings.HasPrefix(s, "+1") {
		d := s[2:]
		for _, r := range d {
			if r < '0' || r > '9' {
				return s
			}
		}
		return fmt.Sprintf("(%s) %s-%s", d[:3], d[3:6], d[6:])
	}
	return s
}

func mapNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %v", callswitch.ErrNotFound, err)
	}
	return err
}

// callsAPI adapts the switch to control.Calls.
type callsAPI struct {
	sw *callswitch.Switch
}

func (a callsAPI) Create(ctx context.Context, req control.CallRequest) (store.Call, error) {
	o := callswitch.OriginateRequest{
		AccountSID: req.AccountSID, To: req.To, From: req.From,
		URL: req.URL, Method: req.Method, Twiml: req.Twiml,
		FallbackURL: req.FallbackURL, FallbackMethod: req.FallbackMethod,
		StatusCallback: req.StatusCallback, StatusCallbackMethod: req.StatusCallbackMethod,
		StatusCallbackEvents: req.StatusCallbackEvents,
		Timeout:              req.Timeout, TimeLimit: req.TimeLimit,
		SIPAuthUsername: req.SIPAuthUsername, SIPAuthPassword: req.SIPAuthPassword,
		CallerID: req.CallerID,
	}
	if req.Application != nil {
		app := appFromStore(*req.Application)
		o.Application = &app
	}
	rec, err := a.sw.Originate(ctx, o)
	if err != nil {
		return store.Call{}, err
	}
	return callToStore(rec), nil
}

func (a callsAPI) Update(ctx context.Context, req control.CallUpdate) (store.Call, error) {
	rec, err := a.sw.Update(ctx, callswitch.UpdateRequest{
		AccountSID: req.AccountSID, CallSID: req.CallSID,
		URL: req.URL, Method: req.Method, Twiml: req.Twiml, Status: req.Status,
		FallbackURL: req.FallbackURL, FallbackMethod: req.FallbackMethod,
		StatusCallback: req.StatusCallback, StatusCallbackMethod: req.StatusCallbackMethod,
		TimeLimit: req.TimeLimit,
	})
	if err != nil {
		return store.Call{}, err
	}
	return callToStore(rec), nil
}

// credentials adapts the store to sipstack.Credentials (registered clients
// and digest-authenticated calls of SIP domains).
type credentials struct {
	st    store.Store
	realm string
}

func (c credentials) Domain(ctx context.Context, domain string) (bool, error) {
	_, err := c.st.SIPDomainByName(ctx, domain)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (c credentials) Lookup(ctx context.Context, domain, username string, purpose sipstack.Purpose) (string, string, bool, error) {
	d, err := c.st.SIPDomainByName(ctx, domain)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", false, nil
	} else if err != nil {
		return "", "", false, err
	}
	p := store.AuthCalls
	if purpose == sipstack.PurposeRegistration {
		if !d.SIPRegistration {
			return "", "", false, nil
		}
		p = store.AuthRegistrations
	}
	cred, err := c.st.DomainCredential(ctx, d.SID, username, p)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", false, nil
	} else if err != nil {
		return "", "", false, err
	}
	if cred.Realm != c.realm {
		// The hash was made for another realm (sip.registrar.realm
		// changed since): it cannot match; the password must be set again.
		return "", "", false, fmt.Errorf("credential %s was hashed for realm %q, the registrar uses %q: set its password again", cred.SID, cred.Realm, c.realm)
	}
	return cred.HA1MD5, cred.HA1SHA256, true, nil
}
