package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// authTypeExpr computes a domain's auth_type from its call mappings (Twilio
// lists the kinds of authentication the domain applies to INVITEs).
const authTypeExpr = `CASE WHEN EXISTS (SELECT 1 FROM sip_credential_list_mappings m
	WHERE m.domain_sid = d.sid AND m.purpose = 'calls') THEN 'CREDENTIAL_LIST' ELSE '' END`

const domainCols = `d.sid, d.account_sid, d.api_version, d.domain_name, d.friendly_name,
	d.voice_url, d.voice_method, d.voice_fallback_url, d.voice_fallback_method,
	d.voice_status_callback_url, d.voice_status_callback_method, d.sip_registration,
	d.emergency_calling_enabled, d.secure, d.byoc_trunk_sid, d.emergency_caller_sid,
	d.date_created, d.date_updated, ` + authTypeExpr

func scanDomain(r rowScanner) (SIPDomain, error) {
	var d SIPDomain
	var created, updated int64
	err := r.Scan(&d.SID, &d.AccountSID, &d.APIVersion, &d.DomainName, &d.FriendlyName,
		&d.VoiceURL, &d.VoiceMethod, &d.VoiceFallbackURL, &d.VoiceFallbackMethod,
		&d.VoiceStatusCallbackURL, &d.VoiceStatusCallbackMethod, &d.SIPRegistration,
		&d.EmergencyCallingEnabled, &d.Secure, &d.ByocTrunkSID, &d.EmergencyCallerSID,
		&created, &updated, &d.AuthType)
	d.DateCreated, d.DateUpdated = ti(created), ti(updated)
	return d, err
}

// CreateSIPDomain implements SIP.
func (s *SQLite) CreateSIPDomain(ctx context.Context, d SIPDomain) error {
	_, err := s.execWrite(ctx, `INSERT INTO sip_domains(sid, account_sid, api_version, domain_name,
		friendly_name, voice_url, voice_method, voice_fallback_url, voice_fallback_method,
		voice_status_callback_url, voice_status_callback_method, sip_registration,
		emergency_calling_enabled, secure, byoc_trunk_sid, emergency_caller_sid, date_created, date_updated)
		VALUES (`+placeholders(18)+`)`,
		d.SID, d.AccountSID, d.APIVersion, strings.ToLower(d.DomainName), d.FriendlyName,
		d.VoiceURL, d.VoiceMethod, d.VoiceFallbackURL, d.VoiceFallbackMethod,
		d.VoiceStatusCallbackURL, d.VoiceStatusCallbackMethod, d.SIPRegistration,
		d.EmergencyCallingEnabled, d.Secure, d.ByocTrunkSID, d.EmergencyCallerSID,
		d.DateCreated.UnixNano(), d.DateUpdated.UnixNano())
	if err != nil {
		return writeErr("create sip domain", d.DomainName, err)
	}
	return nil
}

// SIPDomain implements SIP.
func (s *SQLite) SIPDomain(ctx context.Context, sid string) (SIPDomain, error) {
	return getOne(ctx, s.r, "sip domain", sid, `SELECT `+domainCols+` FROM sip_domains d WHERE d.sid = ?`, scanDomain, sid)
}

// SIPDomainByName implements SIP.
func (s *SQLite) SIPDomainByName(ctx context.Context, name string) (SIPDomain, error) {
	name = strings.ToLower(name)
	return cached(s, cacheDomain, name, func() (SIPDomain, error) {
		return getOne(ctx, s.r, "sip domain", name, `SELECT `+domainCols+` FROM sip_domains d WHERE d.domain_name = ?`, scanDomain, name)
	})
}

// ListSIPDomains implements SIP.
func (s *SQLite) ListSIPDomains(ctx context.Context, accountSID string, p Page) ([]SIPDomain, error) {
	q := listQuery{table: "sip_domains d", cols: domainCols, keyCol: "d.sid",
		where: []string{"d.account_sid = ?"}, args: []any{accountSID},
		scope: "d.account_sid = ?", scopeArgs: []any{accountSID}}
	return list(ctx, s.r, q, p, scanDomain)
}

// UpdateSIPDomain implements SIP.
func (s *SQLite) UpdateSIPDomain(ctx context.Context, d SIPDomain) error {
	res, err := s.execWrite(ctx, `UPDATE sip_domains SET api_version = ?, domain_name = ?,
		friendly_name = ?, voice_url = ?, voice_method = ?, voice_fallback_url = ?, voice_fallback_method = ?,
		voice_status_callback_url = ?, voice_status_callback_method = ?, sip_registration = ?,
		emergency_calling_enabled = ?, secure = ?, byoc_trunk_sid = ?, emergency_caller_sid = ?,
		date_updated = ? WHERE sid = ? AND account_sid = ?`,
		d.APIVersion, strings.ToLower(d.DomainName), d.FriendlyName, d.VoiceURL, d.VoiceMethod,
		d.VoiceFallbackURL, d.VoiceFallbackMethod, d.VoiceStatusCallbackURL, d.VoiceStatusCallbackMethod,
		d.SIPRegistration, d.EmergencyCallingEnabled, d.Secure, d.ByocTrunkSID, d.EmergencyCallerSID,
		d.DateUpdated.UnixNano(), d.SID, d.AccountSID)
	return affected(res, err, "update sip domain", d.SID)
}

// DeleteSIPDomain implements SIP; its mappings go with it (ON DELETE CASCADE).
func (s *SQLite) DeleteSIPDomain(ctx context.Context, accountSID, sid string) error {
	res, err := s.execWrite(ctx, `DELETE FROM sip_domains WHERE sid = ? AND account_sid = ?`, sid, accountSID)
	return affected(res, err, "delete sip domain", sid)
}

const credentialListCols = `sid, account_sid, friendly_name, date_created, date_updated`

func scanCredentialList(r rowScanner) (CredentialList, error) {
	var l CredentialList
	var created, updated int64
	err := r.Scan(&l.SID, &l.AccountSID, &l.FriendlyName, &created, &updated)
	l.DateCreated, l.DateUpdated = ti(created), ti(updated)
	return l, err
}

// CreateCredentialList implements SIP.
func (s *SQLite) CreateCredentialList(ctx context.Context, l CredentialList) error {
	_, err := s.execWrite(ctx, `INSERT INTO sip_credential_lists(`+credentialListCols+`) VALUES (?,?,?,?,?)`,
		l.SID, l.AccountSID, l.FriendlyName, l.DateCreated.UnixNano(), l.DateUpdated.UnixNano())
	if err != nil {
		return writeErr("create credential list", l.SID, err)
	}
	return nil
}

// CredentialList implements SIP.
func (s *SQLite) CredentialList(ctx context.Context, sid string) (CredentialList, error) {
	return getOne(ctx, s.r, "credential list", sid,
		`SELECT `+credentialListCols+` FROM sip_credential_lists WHERE sid = ?`, scanCredentialList, sid)
}

// ListCredentialLists implements SIP.
func (s *SQLite) ListCredentialLists(ctx context.Context, accountSID string, p Page) ([]CredentialList, error) {
	q := listQuery{table: "sip_credential_lists", cols: credentialListCols,
		where: []string{"account_sid = ?"}, args: []any{accountSID},
		scope: "account_sid = ?", scopeArgs: []any{accountSID}}
	return list(ctx, s.r, q, p, scanCredentialList)
}

// UpdateCredentialList implements SIP.
func (s *SQLite) UpdateCredentialList(ctx context.Context, l CredentialList) error {
	res, err := s.execWrite(ctx, `UPDATE sip_credential_lists SET friendly_name = ?, date_updated = ?
		WHERE sid = ? AND account_sid = ?`, l.FriendlyName, l.DateUpdated.UnixNano(), l.SID, l.AccountSID)
	return affected(res, err, "update credential list", l.SID)
}

// DeleteCredentialList implements SIP.
func (s *SQLite) DeleteCredentialList(ctx context.Context, accountSID, sid string) error {
	res, err := s.execWrite(ctx, `DELETE FROM sip_credential_lists WHERE sid = ? AND account_sid = ?`, sid, accountSID)
	return affected(res, err, "delete credential list", sid)
}

const credentialCols = `sid, account_sid, credential_list_sid, username, realm, ha1_md5, ha1_sha256, date_created, date_updated`

func scanCredential(r rowScanner) (Credential, error) {
	var c Credential
	var created, updated int64
	err := r.Scan(&c.SID, &c.AccountSID, &c.CredentialListSID, &c.Username, &c.Realm, &c.HA1MD5, &c.HA1SHA256, &created, &updated)
	c.DateCreated, c.DateUpdated = ti(created), ti(updated)
	return c, err
}

// CreateCredential implements SIP.
func (s *SQLite) CreateCredential(ctx context.Context, c Credential) error {
	_, err := s.execWrite(ctx, `INSERT INTO sip_credentials(`+credentialCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		c.SID, c.AccountSID, c.CredentialListSID, c.Username, c.Realm, c.HA1MD5, c.HA1SHA256,
		c.DateCreated.UnixNano(), c.DateUpdated.UnixNano())
	if err != nil {
		return writeErr("create credential", c.Username, err)
	}
	return nil
}

// Credential implements SIP.
func (s *SQLite) Credential(ctx context.Context, sid string) (Credential, error) {
	return getOne(ctx, s.r, "credential", sid, `SELECT `+credentialCols+` FROM sip_credentials WHERE sid = ?`, scanCredential, sid)
}

// ListCredentials implements SIP.
func (s *SQLite) ListCredentials(ctx context.Context, credentialListSID string, p Page) ([]Credential, error) {
	q := listQuery{table: "sip_credentials", cols: credentialCols,
		where: []string{"credential_list_sid = ?"}, args: []any{credentialListSID},
		scope: "credential_list_sid = ?", scopeArgs: []any{credentialListSID}}
	return list(ctx, s.r, q, p, scanCredential)
}

// UpdateCredential implements SIP.
func (s *SQLite) UpdateCredential(ctx context.Context, c Credential) error {
	res, err := s.execWrite(ctx, `UPDATE sip_credentials SET realm = ?, ha1_md5 = ?, ha1_sha256 = ?, date_updated = ?
		WHERE sid = ? AND credential_list_sid = ?`,
		c.Realm, c.HA1MD5, c.HA1SHA256, c.DateUpdated.UnixNano(), c.SID, c.CredentialListSID)
	return affected(res, err, "update credential", c.SID)
}

// DeleteCredential implements SIP.
func (s *SQLite) DeleteCredential(ctx context.Context, credentialListSID, sid string) error {
	res, err := s.execWrite(ctx, `DELETE FROM sip_credentials WHERE sid = ? AND credential_list_sid = ?`, sid, credentialListSID)
	return affected(res, err, "delete credential", sid)
}

const mappingCols = `m.domain_sid, m.credential_list_sid, m.account_sid, m.purpose, l.friendly_name, m.date_created, m.date_updated`

const mappingFrom = `sip_credential_list_mappings m JOIN sip_credential_lists l ON l.sid = m.credential_list_sid`

func scanMapping(r rowScanner) (CredentialListMapping, error) {
	var m CredentialListMapping
	var created, updated int64
	err := r.Scan(&m.DomainSID, &m.CredentialListSID, &m.AccountSID, &m.Purpose, &m.FriendlyName, &created, &updated)
	m.DateCreated, m.DateUpdated = ti(created), ti(updated)
	return m, err
}

// CreateCredentialListMapping implements SIP.
func (s *SQLite) CreateCredentialListMapping(ctx context.Context, m CredentialListMapping) error {
	if !m.Purpose.Valid() {
		return fmt.Errorf("create credential list mapping: purpose %q", m.Purpose)
	}
	_, err := s.execWrite(ctx, `INSERT INTO sip_credential_list_mappings(domain_sid, credential_list_sid,
		account_sid, purpose, date_created, date_updated) VALUES (?,?,?,?,?,?)`,
		m.DomainSID, m.CredentialListSID, m.AccountSID, string(m.Purpose), m.DateCreated.UnixNano(), m.DateUpdated.UnixNano())
	if err != nil {
		return writeErr("create credential list mapping", m.CredentialListSID, err)
	}
	return nil
}

// CredentialListMapping implements SIP.
func (s *SQLite) CredentialListMapping(ctx context.Context, domainSID string, purpose AuthPurpose, credentialListSID string) (CredentialListMapping, error) {
	return getOne(ctx, s.r, "credential list mapping", credentialListSID,
		`SELECT `+mappingCols+` FROM `+mappingFrom+` WHERE m.domain_sid = ? AND m.purpose = ? AND m.credential_list_sid = ?`,
		scanMapping, domainSID, string(purpose), credentialListSID)
}

// ListCredentialListMappings implements SIP.
func (s *SQLite) ListCredentialListMappings(ctx context.Context, domainSID string, purpose AuthPurpose, p Page) ([]CredentialListMapping, error) {
	q := listQuery{table: mappingFrom, cols: mappingCols, keyCol: "m.credential_list_sid", seqCol: "m.seq",
		where: []string{"m.domain_sid = ?", "m.purpose = ?"}, args: []any{domainSID, string(purpose)},
		scope: "m.domain_sid = ? AND m.purpose = ?", scopeArgs: []any{domainSID, string(purpose)}}
	return list(ctx, s.r, q, p, scanMapping)
}

// DeleteCredentialListMapping implements SIP.
func (s *SQLite) DeleteCredentialListMapping(ctx context.Context, domainSID string, purpose AuthPurpose, credentialListSID string) error {
	res, err := s.execWrite(ctx, `DELETE FROM sip_credential_list_mappings
		WHERE domain_sid = ? AND purpose = ? AND credential_list_sid = ?`, domainSID, string(purpose), credentialListSID)
	return affected(res, err, "delete credential list mapping", credentialListSID)
}

// DomainCredential implements SIP.
func (s *SQLite) DomainCredential(ctx context.Context, domainSID, username string, purpose AuthPurpose) (Credential, error) {
	return cached(s, cacheCredential, domainSID+"\x00"+string(purpose)+"\x00"+username, func() (Credential, error) {
		return s.domainCredential(ctx, domainSID, username, purpose)
	})
}

func (s *SQLite) domainCredential(ctx context.Context, domainSID, username string, purpose AuthPurpose) (Credential, error) {
	c, err := scanCredential(s.r.QueryRowContext(ctx, `SELECT c.sid, c.account_sid, c.credential_list_sid,
		c.username, c.realm, c.ha1_md5, c.ha1_sha256, c.date_created, c.date_updated
		FROM sip_credential_list_mappings m
		JOIN sip_credentials c ON c.credential_list_sid = m.credential_list_sid
		WHERE m.domain_sid = ? AND m.purpose = ? AND c.username = ?
		ORDER BY m.seq LIMIT 1`, domainSID, string(purpose), username))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Credential{}, fmt.Errorf("credential %s for domain %s (%s): %w", username, domainSID, purpose, ErrNotFound)
		}
		return Credential{}, fmt.Errorf("credential %s for domain %s (%s): %w", username, domainSID, purpose, err)
	}
	return c, nil
}
