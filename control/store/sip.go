package store

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// AuthPurpose says what a credential-list mapping of a SIP domain
// authenticates: INVITEs (Auth/Calls, and the legacy CredentialListMappings)
// or REGISTERs (Auth/Registrations).
type AuthPurpose string

// The two purposes of a credential-list mapping.
const (
	AuthCalls         AuthPurpose = "calls"
	AuthRegistrations AuthPurpose = "registrations"
)

// Valid reports whether p is one of the defined purposes.
func (p AuthPurpose) Valid() bool { return p == AuthCalls || p == AuthRegistrations }

// SIPDomain is Twilio's SIP Domain resource: a domain name that registered
// clients and SIP endpoints reach tandem on.
type SIPDomain struct {
	SID                       string
	AccountSID                string
	APIVersion                string
	DomainName                string // lower case, unique
	FriendlyName              string
	VoiceURL                  string
	VoiceMethod               string
	VoiceFallbackURL          string
	VoiceFallbackMethod       string
	VoiceStatusCallbackURL    string
	VoiceStatusCallbackMethod string
	SIPRegistration           bool
	EmergencyCallingEnabled   bool
	Secure                    bool
	ByocTrunkSID              string
	EmergencyCallerSID        string
	// AuthType is computed on read: "CREDENTIAL_LIST" when a credential list
	// is mapped for calls, else empty.
	AuthType    string
	DateCreated time.Time
	DateUpdated time.Time
}

// CredentialList groups SIP credentials.
type CredentialList struct {
	SID          string
	AccountSID   string
	FriendlyName string
	DateCreated  time.Time
	DateUpdated  time.Time
}

// Credential is a SIP username with its digest HA1 values. The password is
// never stored: HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2),
// with MD5 and SHA-256, computed for Realm. A credential whose Realm differs
// from the SIP stack's realm cannot authenticate and must be set again.
type Credential struct {
	SID               string
	AccountSID        string
	CredentialListSID string
	Username          string
	Realm             string
	HA1MD5            string // lower-case hex
	HA1SHA256         string // lower-case hex
	DateCreated       time.Time
	DateUpdated       time.Time
}

// SetPassword computes the HA1 values of password for c.Username in realm.
func (c *Credential) SetPassword(realm, password string) {
	c.Realm = realm
	c.HA1MD5, c.HA1SHA256 = DigestHA1(c.Username, realm, password)
}

// DigestHA1 returns the MD5 and SHA-256 HA1 values of RFC 7616 §3.4.2 for the
// non-"-sess" algorithms, in lower-case hex.
func DigestHA1(username, realm, password string) (md5Hex, sha256Hex string) {
	in := []byte(username + ":" + realm + ":" + password)
	m := md5.Sum(in)
	s := sha256.Sum256(in)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

// CredentialListMapping maps a credential list to a SIP domain for one
// purpose. Its SID is the credential list's SID (as in Twilio).
type CredentialListMapping struct {
	DomainSID         string
	CredentialListSID string
	AccountSID        string
	Purpose           AuthPurpose
	// FriendlyName is the credential list's, filled on read.
	FriendlyName string
	DateCreated  time.Time
	DateUpdated  time.Time
}

// SIP holds SIP domains, credential lists, credentials and their mappings.
type SIP interface {
	CreateSIPDomain(ctx context.Context, d SIPDomain) error
	SIPDomain(ctx context.Context, sid string) (SIPDomain, error)
	// SIPDomainByName finds a domain by name (case-insensitive): the SIP
	// stack's lookup for a request's host.
	SIPDomainByName(ctx context.Context, name string) (SIPDomain, error)
	ListSIPDomains(ctx context.Context, accountSID string, p Page) ([]SIPDomain, error)
	// UpdateSIPDomain rewrites every field but SID, AccountSID, DateCreated.
	UpdateSIPDomain(ctx context.Context, d SIPDomain) error
	DeleteSIPDomain(ctx context.Context, accountSID, sid string) error

	CreateCredentialList(ctx context.Context, l CredentialList) error
	CredentialList(ctx context.Context, sid string) (CredentialList, error)
	ListCredentialLists(ctx context.Context, accountSID string, p Page) ([]CredentialList, error)
	UpdateCredentialList(ctx context.Context, l CredentialList) error
	// DeleteCredentialList deletes the list, its credentials and mappings.
	DeleteCredentialList(ctx context.Context, accountSID, sid string) error

	CreateCredential(ctx context.Context, c Credential) error
	Credential(ctx context.Context, sid string) (Credential, error)
	ListCredentials(ctx context.Context, credentialListSID string, p Page) ([]Credential, error)
	// UpdateCredential rewrites Realm, the HA1 values and DateUpdated.
	UpdateCredential(ctx context.Context, c Credential) error
	DeleteCredential(ctx context.Context, credentialListSID, sid string) error

	CreateCredentialListMapping(ctx context.Context, m CredentialListMapping) error
	CredentialListMapping(ctx context.Context, domainSID string, purpose AuthPurpose, credentialListSID string) (CredentialListMapping, error)
	ListCredentialListMappings(ctx context.Context, domainSID string, purpose AuthPurpose, p Page) ([]CredentialListMapping, error)
	DeleteCredentialListMapping(ctx context.Context, domainSID string, purpose AuthPurpose, credentialListSID string) error

	// DomainCredential finds the credential for username among the lists
	// mapped to the domain for purpose (the oldest mapping wins when several
	// lists hold the username). ErrNotFound when none does.
	DomainCredential(ctx context.Context, domainSID, username string, purpose AuthPurpose) (Credential, error)
}
