package control

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"tandem/control/store"
)

func TestSIPDomainsThroughTwilioGo(t *testing.T) {
	e := newEnv(t)
	tw := e.mainClient(t)
	d, err := tw.Api.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName("Office.Example.com").
		SetFriendlyName("office").SetVoiceUrl("https://example.com/sip").SetVoiceStatusCallbackUrl("https://example.com/st").
		SetSipRegistration(true))
	if err != nil {
		t.Fatal(err)
	}
	sid := deref(d.Sid)
	if !strings.HasPrefix(sid, "SD") || deref(d.DomainName) != "office.example.com" || !deref(d.SipRegistration) ||
		deref(d.VoiceMethod) != "POST" || deref(d.VoiceStatusCallbackUrl) != "https://example.com/st" ||
		deref(d.Uri) != acctPath(e.main.SID, "/SIP/Domains/"+sid+".json") ||
		(*d.SubresourceUris)["credential_list_mappings"] != acctPath(e.main.SID, "/SIP/Domains/"+sid+"/CredentialListMappings.json") {
		t.Fatalf("created domain = %+v", d)
	}
	_, err = tw.Api.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName("OFFICE.example.com"))
	if re := restErr(t, err); re.Code != CodeInvalidParameter || !strings.Contains(re.Message, "already in use") {
		t.Errorf("duplicate domain = %+v", re)
	}
	for _, bad := range []string{"-bad.example.com", "nodot", "a..b", "under_score.example.com", strings.Repeat("a", 64) + ".com"} {
		_, err = tw.Api.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName(bad))
		if re := restErr(t, err); re.Code != CodeInvalidParameter {
			t.Errorf("domain %q = %+v", bad, re)
		}
	}
	up, err := tw.Api.UpdateSipDomain(sid, new(api.UpdateSipDomainParams).SetFriendlyName("HQ").SetSipRegistration(false).SetVoiceMethod("GET"))
	if err != nil || deref(up.FriendlyName) != "HQ" || deref(up.SipRegistration) || deref(up.VoiceMethod) != "GET" {
		t.Fatalf("update domain = %+v, %v", up, err)
	}
	for range 2 {
		if _, err := tw.Api.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName(store.NewSID("SD")[2:12] + ".example.net")); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := tw.Api.ListSipDomain(new(api.ListSipDomainParams).SetPageSize(1))
	if err != nil || len(ds) != 3 {
		t.Errorf("list domains = %d, %v", len(ds), err)
	}
	got, err := e.st.SIPDomainByName(t.Context(), "office.EXAMPLE.com")
	if err != nil || got.SID != sid {
		t.Errorf("store lookup by name = %+v, %v", got, err)
	}
	if err := tw.Api.DeleteSipDomain(sid, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Api.FetchSipDomain(sid, nil); restErr(t, err).Code != 20404 {
		t.Error("deleted domain still fetched")
	}
}

func TestSIPCredentialsAndMappingsThroughTwilioGo(t *testing.T) {
	const realm = "sip.tandem.test"
	e := newEnv(t, func(c *envConfig) { c.realm = realm })
	tw := e.mainClient(t)
	d, err := tw.Api.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName("pbx.example.com").SetSipRegistration(true))
	if err != nil {
		t.Fatal(err)
	}
	domain := deref(d.Sid)
	cl, err := tw.Api.CreateSipCredentialList(new(api.CreateSipCredentialListParams).SetFriendlyName("staff"))
	if err != nil {
		t.Fatal(err)
	}
	list := deref(cl.Sid)
	if (*cl.SubresourceUris)["credentials"] != acctPath(e.main.SID, "/SIP/CredentialLists/"+list+"/Credentials.json") {
		t.Errorf("credential list = %+v", cl)
	}
	if _, err := tw.Api.CreateSipCredentialList(new(api.CreateSipCredentialListParams)); restErr(t, err).Code != CodeInvalidParameter {
		t.Error("credential list without FriendlyName accepted")
	}

	passwords := []string{"CorrectHorse42Battery", "Another0Secret9", "Third3Password3"}
	cr, err := tw.Api.CreateSipCredential(list, new(api.CreateSipCredentialParams).SetUsername("alice").SetPassword(passwords[0]))
	if err != nil {
		t.Fatal(err)
	}
	if deref(cr.Username) != "alice" || deref(cr.CredentialListSid) != list || !strings.HasPrefix(deref(cr.Sid), "CR") {
		t.Errorf("credential = %+v", cr)
	}
	for _, weak := range []string{"short1A", "alllowercase123", "ALLUPPERCASE123", "NoDigitsHereAtAll"} {
		_, err := tw.Api.CreateSipCredential(list, new(api.CreateSipCredentialParams).SetUsername("bob").SetPassword(weak))
		if re := restErr(t, err); re.Code != CodeWeakPassword || re.Status != 400 {
			t.Errorf("weak password %q = %+v", weak, re)
		}
	}
	_, err = tw.Api.CreateSipCredential(list, new(api.CreateSipCredentialParams).SetUsername("alice").SetPassword(passwords[1]))
	if re := restErr(t, err); re.Code != CodeInvalidParameter {
		t.Errorf("duplicate username = %+v", re)
	}
	_, err = tw.Api.CreateSipCredential(list, new(api.CreateSipCredentialParams).SetUsername("bob@evil").SetPassword(passwords[1]))
	if re := restErr(t, err); re.Code != CodeInvalidParameter {
		t.Errorf("username with @ = %+v", re)
	}
	bob, err := tw.Api.CreateSipCredential(list, new(api.CreateSipCredentialParams).SetUsername("bob").SetPassword(passwords[1]))
	if err != nil {
		t.Fatal(err)
	}
	if creds, err := tw.Api.ListSipCredential(list, new(api.ListSipCredentialParams).SetPageSize(1)); err != nil || len(creds) != 2 {
		t.Errorf("list credentials = %d, %v", len(creds), err)
	}

	// Nothing authenticates until a list is mapped, and then only for its purpose.
	ctx := t.Context()
	if _, err := e.st.DomainCredential(ctx, domain, "alice", store.AuthRegistrations); err == nil {
		t.Error("unmapped credential authenticates")
	}
	if _, err := tw.Api.CreateSipAuthRegistrationsCredentialListMapping(domain,
		new(api.CreateSipAuthRegistrationsCredentialListMappingParams).SetCredentialListSid(list)); err != nil {
		t.Fatal(err)
	}
	reg, err := e.st.DomainCredential(ctx, domain, "alice", store.AuthRegistrations)
	wantMD5, wantSHA := store.DigestHA1("alice", realm, passwords[0])
	if err != nil || reg.Realm != realm || reg.HA1MD5 != wantMD5 || reg.HA1SHA256 != wantSHA {
		t.Fatalf("registration credential = %+v, %v", reg, err)
	}
	if _, err := e.st.DomainCredential(ctx, domain, "alice", store.AuthCalls); err == nil {
		t.Error("registration mapping authenticates calls")
	}
	m, err := tw.Api.CreateSipAuthCallsCredentialListMapping(domain, new(api.CreateSipAuthCallsCredentialListMappingParams).SetCredentialListSid(list))
	if err != nil || deref(m.Sid) != list || deref(m.FriendlyName) != "staff" {
		t.Fatalf("calls mapping = %+v, %v", m, err)
	}
	if _, err := e.st.DomainCredential(ctx, domain, "bob", store.AuthCalls); err != nil {
		t.Errorf("calls credential: %v", err)
	}
	if got, _ := tw.Api.FetchSipDomain(domain, nil); deref(got.AuthType) != "CREDENTIAL_LIST" {
		t.Errorf("auth_type = %q", deref(got.AuthType))
	}
	// The legacy mapping resource lists the calls mappings.
	legacy, err := tw.Api.ListSipCredentialListMapping(domain, nil)
	if err != nil || len(legacy) != 1 || deref(legacy[0].Sid) != list || deref(legacy[0].DomainSid) != domain {
		t.Errorf("legacy mappings = %+v, %v", legacy, err)
	}
	if got, err := tw.Api.FetchSipAuthRegistrationsCredentialListMapping(domain, list, nil); err != nil || deref(got.Sid) != list {
		t.Errorf("fetch registrations mapping = %+v, %v", got, err)
	}
	if regs, err := tw.Api.ListSipAuthRegistrationsCredentialListMapping(domain, nil); err != nil || len(regs) != 1 {
		t.Errorf("list registrations mappings = %d, %v", len(regs), err)
	}
	_, err = tw.Api.CreateSipAuthCallsCredentialListMapping(domain, new(api.CreateSipAuthCallsCredentialListMappingParams).SetCredentialListSid(list))
	if re := restErr(t, err); re.Code != CodeInvalidParameter {
		t.Errorf("duplicate mapping = %+v", re)
	}
	// A subaccount's list cannot be mapped to the parent's domain.
	sub, _ := tw.Api.CreateAccount(nil)
	subList, err := tw.Api.CreateSipCredentialList(new(api.CreateSipCredentialListParams).SetPathAccountSid(deref(sub.Sid)).SetFriendlyName("sub"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tw.Api.CreateSipCredentialListMapping(domain, new(api.CreateSipCredentialListMappingParams).SetCredentialListSid(deref(subList.Sid)))
	if re := restErr(t, err); re.Code != CodeInvalidParameter {
		t.Errorf("cross-account mapping = %+v", re)
	}

	// A new password rewrites the HA1s.
	if _, err := tw.Api.UpdateSipCredential(list, deref(cr.Sid), new(api.UpdateSipCredentialParams).SetPassword(passwords[2])); err != nil {
		t.Fatal(err)
	}
	reg, _ = e.st.DomainCredential(ctx, domain, "alice", store.AuthRegistrations)
	if wantMD5, _ := store.DigestHA1("alice", realm, passwords[2]); reg.HA1MD5 != wantMD5 {
		t.Error("HA1 not updated")
	}

	if err := tw.Api.DeleteSipAuthCallsCredentialListMapping(domain, list, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.DomainCredential(ctx, domain, "bob", store.AuthCalls); err == nil {
		t.Error("unmapped list still authenticates calls")
	}
	if err := tw.Api.DeleteSipCredential(list, deref(bob.Sid), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Api.FetchSipCredential(list, deref(bob.Sid), nil); restErr(t, err).Code != 20404 {
		t.Error("deleted credential still fetched")
	}
	if got, err := tw.Api.UpdateSipCredentialList(list, new(api.UpdateSipCredentialListParams).SetFriendlyName("staff 2")); err != nil || deref(got.FriendlyName) != "staff 2" {
		t.Errorf("rename list = %+v, %v", got, err)
	}
	if err := tw.Api.DeleteSipCredentialList(list, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.DomainCredential(ctx, domain, "alice", store.AuthRegistrations); err == nil {
		t.Error("deleted list still authenticates")
	}

	// No answer ever carried a password (or its hashes).
	all := e.bodies.all()
	if !strings.Contains(all, `"username":"alice"`) {
		t.Fatal("the body log did not record the credential answers")
	}
	for _, p := range passwords {
		if strings.Contains(all, p) {
			t.Errorf("a response contained the password %q", p)
		}
	}
	for _, h := range []string{wantMD5, wantSHA, reg.HA1MD5, reg.HA1SHA256} {
		if strings.Contains(all, h) {
			t.Errorf("a response contained an HA1 %s", h)
		}
	}
	// Nor does the store's file (or its WAL) hold it.
	for _, f := range []string{e.dbPath, e.dbPath + "-wal"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range passwords {
			if bytes.Contains(raw, []byte(p)) {
				t.Errorf("%s holds the password %q in clear", filepath.Base(f), p)
			}
		}
	}
}

func TestSIPRoutesIsolateAccounts(t *testing.T) {
	e := newEnv(t)
	tw := e.mainClient(t)
	d, _ := tw.Api.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName("main.example.com"))
	cl, _ := tw.Api.CreateSipCredentialList(new(api.CreateSipCredentialListParams).SetFriendlyName("main"))
	sub, _ := tw.Api.CreateAccount(nil)
	s := e.do
	paths := []string{
		"/SIP/Domains/" + deref(d.Sid) + ".json",
		"/SIP/CredentialLists/" + deref(cl.Sid) + ".json",
		"/SIP/CredentialLists/" + deref(cl.Sid) + "/Credentials.json",
		"/SIP/Domains/" + deref(d.Sid) + "/Auth/Calls/CredentialListMappings.json",
	}
	for _, p := range paths {
		r := s(t, http.MethodGet, acctPath(deref(sub.Sid), p), deref(sub.Sid), deref(sub.AuthToken), nil)
		if r.status != 404 || r.code() != 20404 {
			t.Errorf("subaccount GET %s = %d %v", p, r.status, r.body)
		}
	}
	r := s(t, http.MethodPost, acctPath(deref(sub.Sid), "/SIP/CredentialLists/"+deref(cl.Sid)+"/Credentials.json"),
		deref(sub.Sid), deref(sub.AuthToken), url.Values{"Username": {"eve"}, "Password": {"EvilPassword123"}})
	if r.status != 404 {
		t.Errorf("subaccount added a credential to the parent's list: %d %v", r.status, r.body)
	}
}
