package control

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"tandem/control/store"
)

// SIP Domains, credential lists, credentials and credential-list mappings,
// in the shape of twilio-go v1.31.0 rest/api/v2010 accounts_sip_*.go.

const (
	maxSIPUsername = 32 // Twilio: "It can be up to 32 characters long"
	minSIPPassword = 12 // Twilio: ≥ 12 characters, a digit, mixed case
	maxSIPPassword = 255
)

type sipDomainJSON struct {
	AccountSid                string            `json:"account_sid"`
	APIVersion                string            `json:"api_version"`
	AuthType                  *string           `json:"auth_type"`
	DateCreated               *string           `json:"date_created"`
	DateUpdated               *string           `json:"date_updated"`
	DomainName                string            `json:"domain_name"`
	FriendlyName              string            `json:"friendly_name"`
	Sid                       string            `json:"sid"`
	URI                       string            `json:"uri"`
	VoiceFallbackMethod       string            `json:"voice_fallback_method"`
	VoiceFallbackURL          *string           `json:"voice_fallback_url"`
	VoiceMethod               string            `json:"voice_method"`
	VoiceStatusCallbackMethod string            `json:"voice_status_callback_method"`
	VoiceStatusCallbackURL    *string           `json:"voice_status_callback_url"`
	VoiceURL                  *string           `json:"voice_url"`
	SubresourceUris           map[string]string `json:"subresource_uris"`
	SipRegistration           bool              `json:"sip_registration"`
	EmergencyCallingEnabled   bool              `json:"emergency_calling_enabled"`
	Secure                    bool              `json:"secure"`
	ByocTrunkSid              *string           `json:"byoc_trunk_sid"`
	EmergencyCallerSid        *string           `json:"emergency_caller_sid"`
}

func renderDomain(d store.SIPDomain) sipDomainJSON {
	base := underAccount(d.AccountSID, "/SIP/Domains/"+d.SID)
	return sipDomainJSON{
		AccountSid: d.AccountSID, APIVersion: d.APIVersion, AuthType: opt(d.AuthType),
		DateCreated: rfc2822(d.DateCreated), DateUpdated: rfc2822(d.DateUpdated),
		DomainName: d.DomainName, FriendlyName: d.FriendlyName, Sid: d.SID, URI: base + ".json",
		VoiceFallbackMethod: d.VoiceFallbackMethod, VoiceFallbackURL: opt(d.VoiceFallbackURL),
		VoiceMethod: d.VoiceMethod, VoiceStatusCallbackMethod: d.VoiceStatusCallbackMethod,
		VoiceStatusCallbackURL: opt(d.VoiceStatusCallbackURL), VoiceURL: opt(d.VoiceURL),
		SubresourceUris: map[string]string{
			"ip_access_control_list_mappings": base + "/IpAccessControlListMappings.json",
			"credential_list_mappings":        base + "/CredentialListMappings.json",
		},
		SipRegistration: d.SIPRegistration, EmergencyCallingEnabled: d.EmergencyCallingEnabled,
		Secure: d.Secure, ByocTrunkSid: opt(d.ByocTrunkSID), EmergencyCallerSid: opt(d.EmergencyCallerSID),
	}
}

func listDomains(a *API, q *request) error {
	pr, err := parsePage(q)
	if err != nil {
		return err
	}
	items, err := a.st.ListSIPDomains(q.ctx, q.acct.SID, pr.sp)
	if err != nil {
		return listErr(err)
	}
	return writePage(q, "domains", nil, pr, items, func(x store.SIPDomain) string { return x.SID }, renderDomain)
}

func bindDomain(q *request, d *store.SIPDomain) *Error {
	b := binder{q: q, urlCode: CodeInvalidURL}
	if v, ok := b.present("DomainName"); ok {
		if !validDomainName(v, true) {
			b.fail(invalidParam("DomainName %s must be a DNS name: letters, digits and hyphens in two or more labels", clip(v)))
		}
		d.DomainName = strings.ToLower(strings.TrimSuffix(v, "."))
	}
	b.text("FriendlyName", maxFriendlyName, &d.FriendlyName)
	b.url("VoiceUrl", &d.VoiceURL)
	b.method("VoiceMethod", &d.VoiceMethod)
	b.url("VoiceFallbackUrl", &d.VoiceFallbackURL)
	b.method("VoiceFallbackMethod", &d.VoiceFallbackMethod)
	b.url("VoiceStatusCallbackUrl", &d.VoiceStatusCallbackURL)
	b.method("VoiceStatusCallbackMethod", &d.VoiceStatusCallbackMethod)
	b.boolean("SipRegistration", &d.SIPRegistration)
	b.boolean("EmergencyCallingEnabled", &d.EmergencyCallingEnabled)
	b.boolean("Secure", &d.Secure)
	b.sid("ByocTrunkSid", "BY", &d.ByocTrunkSID)
	b.sid("EmergencyCallerSid", "PN", &d.EmergencyCallerSID)
	if b.err != nil {
		return b.err
	}
	return fallbackRule(d.VoiceURL, d.VoiceFallbackURL, "VoiceFallbackUrl", "VoiceUrl")
}

func domainWriteErr(d store.SIPDomain, err error) error {
	if errors.Is(err, store.ErrDuplicate) {
		return invalidParam("DomainName %s is already in use", d.DomainName)
	}
	return fmt.Errorf("sip domain %s: %w", d.SID, err)
}

func createDomain(a *API, q *request) error {
	if q.get("DomainName") == "" {
		return invalidParam("DomainName is required")
	}
	now := a.now().UTC()
	d := store.SIPDomain{SID: store.NewSID("SD"), AccountSID: q.acct.SID, APIVersion: "2010-04-01",
		VoiceMethod: "POST", VoiceFallbackMethod: "POST", VoiceStatusCallbackMethod: "POST",
		DateCreated: now, DateUpdated: now}
	if err := bindDomain(q, &d); err != nil {
		return err
	}
	if err := a.st.CreateSIPDomain(q.ctx, d); err != nil {
		return domainWriteErr(d, err)
	}
	return q.json(http.StatusCreated, renderDomain(d))
}

// ownDomain reads the SIP domain named by the path parameter, of the path's
// account.
func ownDomain(a *API, q *request, param string) (store.SIPDomain, error) {
	return owned(q, "SD", q.param(param), a.st.SIPDomain, func(x store.SIPDomain) string { return x.AccountSID }, q.acct.SID)
}

func fetchDomain(a *API, q *request) error {
	d, err := ownDomain(a, q, "Sid")
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, renderDomain(d))
}

func updateDomain(a *API, q *request) error {
	d, err := ownDomain(a, q, "Sid")
	if err != nil {
		return err
	}
	if q.has("DomainName") && q.get("DomainName") == "" {
		return invalidParam("DomainName cannot be empty")
	}
	if err := bindDomain(q, &d); err != nil {
		return err
	}
	d.DateUpdated = a.now().UTC()
	if err := a.st.UpdateSIPDomain(q.ctx, d); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound(clip(q.r.URL.Path))
		}
		return domainWriteErr(d, err)
	}
	return q.json(http.StatusOK, renderDomain(d))
}

func deleteDomain(a *API, q *request) error {
	if err := a.st.DeleteSIPDomain(q.ctx, q.acct.SID, q.param("Sid")); err != nil {
		return q.storeErr(err, "delete sip domain")
	}
	return q.noContent()
}

type credentialListJSON struct {
	AccountSid      string            `json:"account_sid"`
	DateCreated     *string           `json:"date_created"`
	DateUpdated     *string           `json:"date_updated"`
	FriendlyName    string            `json:"friendly_name"`
	Sid             string            `json:"sid"`
	SubresourceUris map[string]string `json:"subresource_uris"`
	URI             string            `json:"uri"`
}

func renderCredentialList(l store.CredentialList) credentialListJSON {
	base := underAccount(l.AccountSID, "/SIP/CredentialLists/"+l.SID)
	return credentialListJSON{AccountSid: l.AccountSID, DateCreated: rfc2822(l.DateCreated),
		DateUpdated: rfc2822(l.DateUpdated), FriendlyName: l.FriendlyName, Sid: l.SID,
		SubresourceUris: map[string]string{"credentials": base + "/Credentials.json"}, URI: base + ".json"}
}

func listCredentialLists(a *API, q *request) error {
	pr, err := parsePage(q)
	if err != nil {
		return err
	}
	items, err := a.st.ListCredentialLists(q.ctx, q.acct.SID, pr.sp)
	if err != nil {
		return listErr(err)
	}
	return writePage(q, "credential_lists", nil, pr, items,
		func(x store.CredentialList) string { return x.SID }, renderCredentialList)
}

// friendlyNameRequired binds a FriendlyName that must be present and
// non-empty (credential lists: Twilio requires it).
func friendlyNameRequired(q *request, dst *string) *Error {
	if q.get("FriendlyName") == "" {
		return invalidParam("FriendlyName is required")
	}
	b := binder{q: q}
	b.text("FriendlyName", maxFriendlyName, dst)
	return b.err
}

func createCredentialList(a *API, q *request) error {
	now := a.now().UTC()
	l := store.CredentialList{SID: store.NewSID("CL"), AccountSID: q.acct.SID, DateCreated: now, DateUpdated: now}
	if err := friendlyNameRequired(q, &l.FriendlyName); err != nil {
		return err
	}
	if err := a.st.CreateCredentialList(q.ctx, l); err != nil {
		return fmt.Errorf("create credential list: %w", err)
	}
	return q.json(http.StatusCreated, renderCredentialList(l))
}

// ownCredentialList reads the credential list named by the path parameter,
// of the path's account.
func ownCredentialList(a *API, q *request, param string) (store.CredentialList, error) {
	return owned(q, "CL", q.param(param), a.st.CredentialList, func(x store.CredentialList) string { return x.AccountSID }, q.acct.SID)
}

func fetchCredentialList(a *API, q *request) error {
	l, err := ownCredentialList(a, q, "Sid")
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, renderCredentialList(l))
}

func updateCredentialList(a *API, q *request) error {
	l, err := ownCredentialList(a, q, "Sid")
	if err != nil {
		return err
	}
	if err := friendlyNameRequired(q, &l.FriendlyName); err != nil {
		return err
	}
	l.DateUpdated = a.now().UTC()
	if err := a.st.UpdateCredentialList(q.ctx, l); err != nil {
		return q.storeErr(err, "update credential list")
	}
	return q.json(http.StatusOK, renderCredentialList(l))
}

func deleteCredentialList(a *API, q *request) error {
	if err := a.st.DeleteCredentialList(q.ctx, q.acct.SID, q.param("Sid")); err != nil {
		return q.storeErr(err, "delete credential list")
	}
	return q.noContent()
}

// credentialJSON never carries the password or its hashes.
type credentialJSON struct {
	Sid               string  `json:"sid"`
	AccountSid        string  `json:"account_sid"`
	CredentialListSid string  `json:"credential_list_sid"`
	Username          string  `json:"username"`
	DateCreated       *string `json:"date_created"`
	DateUpdated       *string `json:"date_updated"`
	URI               string  `json:"uri"`
}

func renderCredential(c store.Credential) credentialJSON {
	return credentialJSON{Sid: c.SID, AccountSid: c.AccountSID, CredentialListSid: c.CredentialListSID,
		Username: c.Username, DateCreated: rfc2822(c.DateCreated), DateUpdated: rfc2822(c.DateUpdated),
		URI: underAccount(c.AccountSID, "/SIP/CredentialLists/"+c.CredentialListSID+"/Credentials/"+c.SID+".json")}
}

func listCredentials(a *API, q *request) error {
	l, err := ownCredentialList(a, q, "CredentialListSid")
	if err != nil {
		return err
	}
	pr, err := parsePage(q)
	if err != nil {
		return err
	}
	items, err := a.st.ListCredentials(q.ctx, l.SID, pr.sp)
	if err != nil {
		return listErr(err)
	}
	return writePage(q, "credentials", nil, pr, items, func(x store.Credential) string { return x.SID }, renderCredential)
}

// checkPassword applies Twilio's SIP credential rule: at least 12
// characters with a digit, a lower-case and an upper-case letter.
func checkPassword(p string) *Error {
	var upper, lower, digit bool
	for _, r := range p {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		}
	}
	if len([]rune(p)) < minSIPPassword || len(p) > maxSIPPassword || !upper || !lower || !digit {
		return badRequest(CodeWeakPassword, "Password must be %d to %d characters with at least one digit, one lower-case and one upper-case letter", minSIPPassword, maxSIPPassword)
	}
	for _, r := range p {
		if r < ' ' || r == 0x7f {
			return badRequest(CodeWeakPassword, "Password must not contain control characters")
		}
	}
	return nil
}

func createCredential(a *API, q *request) error {
	l, err := ownCredentialList(a, q, "CredentialListSid")
	if err != nil {
		return err
	}
	user, pass := q.get("Username"), q.get("Password")
	switch {
	case user == "":
		return invalidParam("Username is required")
	case len(user) > maxSIPUsername || !validSIPUser(user):
		return invalidParam("Username must be at most %d characters allowed in a SIP user part", maxSIPUsername)
	case pass == "":
		return invalidParam("Password is required")
	}
	if e := checkPassword(pass); e != nil {
		return e
	}
	now := a.now().UTC()
	c := store.Credential{SID: store.NewSID("CR"), AccountSID: l.AccountSID, CredentialListSID: l.SID,
		Username: user, DateCreated: now, DateUpdated: now}
	c.SetPassword(a.realm, pass)
	if err := a.st.CreateCredential(q.ctx, c); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return invalidParam("Username %s already exists in credential list %s", user, l.SID)
		}
		return fmt.Errorf("create credential: %w", err)
	}
	return q.json(http.StatusCreated, renderCredential(c))
}

// ownCredential reads the path's credential of the path's credential list.
func ownCredential(a *API, q *request) (store.Credential, error) {
	l, err := ownCredentialList(a, q, "CredentialListSid")
	if err != nil {
		return store.Credential{}, err
	}
	return owned(q, "CR", q.param("Sid"), a.st.Credential, func(x store.Credential) string { return x.CredentialListSID }, l.SID)
}

func fetchCredential(a *API, q *request) error {
	c, err := ownCredential(a, q)
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, renderCredential(c))
}

func updateCredential(a *API, q *request) error {
	c, err := ownCredential(a, q)
	if err != nil {
		return err
	}
	pass := q.get("Password")
	if pass == "" {
		return invalidParam("Password is required")
	}
	if e := checkPassword(pass); e != nil {
		return e
	}
	c.SetPassword(a.realm, pass)
	c.DateUpdated = a.now().UTC()
	if err := a.st.UpdateCredential(q.ctx, c); err != nil {
		return q.storeErr(err, "update credential")
	}
	return q.json(http.StatusOK, renderCredential(c))
}

func deleteCredential(a *API, q *request) error {
	c, err := ownCredential(a, q)
	if err != nil {
		return err
	}
	if err := a.st.DeleteCredential(q.ctx, c.CredentialListSID, c.SID); err != nil {
		return q.storeErr(err, "delete credential")
	}
	return q.noContent()
}

// The three mapping resources: the legacy CredentialListMappings (which
// authenticates calls, as it did before Auth/ existed) and the Auth/Calls and
// Auth/Registrations ones.
const (
	mappingLegacy        = "legacy"
	mappingCalls         = "calls"
	mappingRegistrations = "registrations"
)

func mappingPurpose(kind string) store.AuthPurpose {
	if kind == mappingRegistrations {
		return store.AuthRegistrations
	}
	return store.AuthCalls
}

// legacyMappingJSON is ApiV2010SipCredentialListMapping.
type legacyMappingJSON struct {
	AccountSid   string  `json:"account_sid"`
	DateCreated  *string `json:"date_created"`
	DateUpdated  *string `json:"date_updated"`
	DomainSid    string  `json:"domain_sid"`
	FriendlyName string  `json:"friendly_name"`
	Sid          string  `json:"sid"`
	URI          string  `json:"uri"`
}

// authMappingJSON is ApiV2010SipAuth{Calls,Registrations}CredentialListMapping.
type authMappingJSON struct {
	AccountSid   string  `json:"account_sid"`
	DateCreated  *string `json:"date_created"`
	DateUpdated  *string `json:"date_updated"`
	FriendlyName string  `json:"friendly_name"`
	Sid          string  `json:"sid"`
}

func renderMapping(kind string) func(store.CredentialListMapping) any {
	return func(m store.CredentialListMapping) any {
		if kind == mappingLegacy {
			return legacyMappingJSON{AccountSid: m.AccountSID, DateCreated: rfc2822(m.DateCreated),
				DateUpdated: rfc2822(m.DateUpdated), DomainSid: m.DomainSID, FriendlyName: m.FriendlyName,
				Sid: m.CredentialListSID,
				URI: underAccount(m.AccountSID, "/SIP/Domains/"+m.DomainSID+"/CredentialListMappings/"+m.CredentialListSID+".json")}
		}
		return authMappingJSON{AccountSid: m.AccountSID, DateCreated: rfc2822(m.DateCreated),
			DateUpdated: rfc2822(m.DateUpdated), FriendlyName: m.FriendlyName, Sid: m.CredentialListSID}
	}
}

func listMappings(kind string) handlerFunc {
	key := "contents"
	if kind == mappingLegacy {
		key = "credential_list_mappings"
	}
	return func(a *API, q *request) error {
		d, err := ownDomain(a, q, "DomainSid")
		if err != nil {
			return err
		}
		pr, err := parsePage(q)
		if err != nil {
			return err
		}
		items, err := a.st.ListCredentialListMappings(q.ctx, d.SID, mappingPurpose(kind), pr.sp)
		if err != nil {
			return listErr(err)
		}
		return writePage(q, key, nil, pr, items,
			func(x store.CredentialListMapping) string { return x.CredentialListSID }, renderMapping(kind))
	}
}

func createMapping(kind string) handlerFunc {
	return func(a *API, q *request) error {
		d, err := ownDomain(a, q, "DomainSid")
		if err != nil {
			return err
		}
		clSID := q.get("CredentialListSid")
		if clSID == "" {
			return invalidParam("CredentialListSid is required")
		}
		l, err := a.st.CredentialList(q.ctx, clSID)
		if errors.Is(err, store.ErrNotFound) || err == nil && l.AccountSID != q.acct.SID {
			return invalidParam("CredentialListSid %s is not a credential list of this account", clip(clSID))
		}
		if err != nil {
			return fmt.Errorf("credential list %s: %w", clSID, err)
		}
		now := a.now().UTC()
		m := store.CredentialListMapping{DomainSID: d.SID, CredentialListSID: l.SID, AccountSID: q.acct.SID,
			Purpose: mappingPurpose(kind), FriendlyName: l.FriendlyName, DateCreated: now, DateUpdated: now}
		if err := a.st.CreateCredentialListMapping(q.ctx, m); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return invalidParam("Credential list %s is already mapped to domain %s", l.SID, d.SID)
			}
			return fmt.Errorf("create credential list mapping: %w", err)
		}
		return q.json(http.StatusCreated, renderMapping(kind)(m))
	}
}

func fetchMapping(kind string) handlerFunc {
	return func(a *API, q *request) error {
		d, err := ownDomain(a, q, "DomainSid")
		if err != nil {
			return err
		}
		m, err := a.st.CredentialListMapping(q.ctx, d.SID, mappingPurpose(kind), q.param("Sid"))
		if errors.Is(err, store.ErrNotFound) {
			return notFound(clip(q.r.URL.Path))
		}
		if err != nil {
			return fmt.Errorf("credential list mapping: %w", err)
		}
		return q.json(http.StatusOK, renderMapping(kind)(m))
	}
}

func deleteMapping(kind string) handlerFunc {
	return func(a *API, q *request) error {
		d, err := ownDomain(a, q, "DomainSid")
		if err != nil {
			return err
		}
		if err := a.st.DeleteCredentialListMapping(q.ctx, d.SID, mappingPurpose(kind), q.param("Sid")); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound(clip(q.r.URL.Path))
			}
			return fmt.Errorf("delete credential list mapping: %w", err)
		}
		return q.noContent()
	}
}
