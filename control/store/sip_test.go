package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDigestHA1KnownValues(t *testing.T) {
	// RFC 2617 §3.5's example credentials (HA1 = MD5 of "Mufasa:testrealm@host.com:Circle Of Life")
	// and RFC 7616 §3.9.1's user with SHA-256.
	md5Hex, _ := DigestHA1("Mufasa", "testrealm@host.com", "Circle Of Life")
	if md5Hex != "939e7578ed9e3c518a452acee763bce9" {
		t.Errorf("MD5 HA1 = %s", md5Hex)
	}
	_, shaHex := DigestHA1("Mufasa", "http-auth@example.org", "Circle of Life")
	if shaHex != "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232" {
		t.Errorf("SHA-256 HA1 = %s", shaHex)
	}
}

func TestSIPDomainsCredentialsAndMappings(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	main := mustMain(t, s)
	d := SIPDomain{SID: NewSID("SD"), AccountSID: main.SID, APIVersion: "2010-04-01", DomainName: "Office.Example.COM",
		FriendlyName: "office", VoiceURL: "https://example.com/sip", VoiceMethod: "POST", VoiceFallbackMethod: "POST",
		VoiceStatusCallbackMethod: "POST", SIPRegistration: true, DateCreated: t0, DateUpdated: t0}
	if err := s.CreateSIPDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
	dup := d
	dup.SID, dup.DomainName = NewSID("SD"), "office.example.com"
	if err := s.CreateSIPDomain(ctx, dup); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate domain name (other case) = %v", err)
	}
	byName, err := s.SIPDomainByName(ctx, "OFFICE.example.com")
	if err != nil || byName.SID != d.SID || byName.DomainName != "office.example.com" || !byName.SIPRegistration || byName.AuthType != "" {
		t.Fatalf("SIPDomainByName = %+v, %v", byName, err)
	}

	cl := CredentialList{SID: NewSID("CL"), AccountSID: main.SID, FriendlyName: "staff", DateCreated: t0, DateUpdated: t0}
	if err := s.CreateCredentialList(ctx, cl); err != nil {
		t.Fatal(err)
	}
	cr := Credential{SID: NewSID("CR"), AccountSID: main.SID, CredentialListSID: cl.SID, Username: "alice", DateCreated: t0, DateUpdated: t0}
	cr.SetPassword("tandem", "CorrectHorse42")
	if err := s.CreateCredential(ctx, cr); err != nil {
		t.Fatal(err)
	}
	again := cr
	again.SID = NewSID("CR")
	if err := s.CreateCredential(ctx, again); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate username in a list = %v", err)
	}

	// Not mapped yet: nobody authenticates.
	if _, err := s.DomainCredential(ctx, d.SID, "alice", AuthRegistrations); !errors.Is(err, ErrNotFound) {
		t.Errorf("unmapped credential = %v", err)
	}
	m := CredentialListMapping{DomainSID: d.SID, CredentialListSID: cl.SID, AccountSID: main.SID, Purpose: AuthRegistrations, DateCreated: t0, DateUpdated: t0}
	if err := s.CreateCredentialListMapping(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCredentialListMapping(ctx, m); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate mapping = %v", err)
	}
	got, err := s.DomainCredential(ctx, d.SID, "alice", AuthRegistrations)
	if err != nil || got.HA1MD5 != cr.HA1MD5 || got.HA1SHA256 != cr.HA1SHA256 || got.Realm != "tandem" {
		t.Fatalf("DomainCredential(registrations) = %+v, %v", got, err)
	}
	if _, err := s.DomainCredential(ctx, d.SID, "alice", AuthCalls); !errors.Is(err, ErrNotFound) {
		t.Errorf("registration mapping authenticated calls: %v", err)
	}
	m.Purpose = AuthCalls
	if err := s.CreateCredentialListMapping(ctx, m); err != nil {
		t.Fatal(err)
	}
	if dd, _ := s.SIPDomain(ctx, d.SID); dd.AuthType != "CREDENTIAL_LIST" {
		t.Errorf("auth_type with a calls mapping = %q", dd.AuthType)
	}
	ms, err := s.ListCredentialListMappings(ctx, d.SID, AuthCalls, Page{Size: 10})
	if err != nil || len(ms) != 1 || ms[0].FriendlyName != "staff" || ms[0].CredentialListSID != cl.SID {
		t.Errorf("mappings = %+v, %v", ms, err)
	}
	if _, err := s.ListCredentialListMappings(ctx, d.SID, AuthCalls, Page{Size: 10, After: cl.SID}); err != nil {
		t.Errorf("mapping page token: %v", err)
	}

	// A new password (or realm) rewrites the HA1s.
	cr.SetPassword("tandem", "AnotherSecret7")
	cr.DateUpdated = t0.Add(time.Hour)
	if err := s.UpdateCredential(ctx, cr); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DomainCredential(ctx, d.SID, "alice", AuthCalls); got.HA1MD5 != cr.HA1MD5 {
		t.Error("updated HA1 not returned")
	}

	// Deleting the list removes its credentials and mappings.
	if err := s.DeleteCredentialList(ctx, main.SID, cl.SID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credential(ctx, cr.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("credential after list delete = %v", err)
	}
	if ms, _ := s.ListCredentialListMappings(ctx, d.SID, AuthCalls, Page{Size: 10}); len(ms) != 0 {
		t.Errorf("mappings after list delete = %v", ms)
	}
	if err := s.DeleteSIPDomain(ctx, main.SID, d.SID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SIPDomainByName(ctx, d.DomainName); !errors.Is(err, ErrNotFound) {
		t.Errorf("domain after delete = %v", err)
	}
}
