package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

const numberCols = `n.sid, n.account_sid, n.phone_number, n.friendly_name, n.api_version, n.beta,
	n.cap_voice, n.cap_sms, n.cap_mms, n.cap_fax,
	n.voice_url, n.voice_method, n.voice_fallback_url, n.voice_fallback_method,
	n.voice_application_sid, n.voice_caller_id_lookup, n.voice_receive_mode,
	n.status_callback, n.status_callback_method,
	n.sms_url, n.sms_method, n.sms_fallback_url, n.sms_fallback_method, n.sms_application_sid,
	n.trunk_sid, n.address_sid, n.address_requirements, n.identity_sid, n.bundle_sid,
	n.emergency_status, n.emergency_address_sid, n.emergency_address_status,
	n.origin, n.status, n.type, n.date_created, n.date_updated`

func numberDest(n *PhoneNumber, voiceApp, smsApp *sql.NullString, created, updated *int64) []any {
	return []any{&n.SID, &n.AccountSID, &n.PhoneNumber, &n.FriendlyName, &n.APIVersion, &n.Beta,
		&n.Capabilities.Voice, &n.Capabilities.SMS, &n.Capabilities.MMS, &n.Capabilities.Fax,
		&n.VoiceURL, &n.VoiceMethod, &n.VoiceFallbackURL, &n.VoiceFallbackMethod,
		voiceApp, &n.VoiceCallerIDLookup, &n.VoiceReceiveMode,
		&n.StatusCallback, &n.StatusCallbackMethod,
		&n.SMSURL, &n.SMSMethod, &n.SMSFallbackURL, &n.SMSFallbackMethod, smsApp,
		&n.TrunkSID, &n.AddressSID, &n.AddressRequirements, &n.IdentitySID, &n.BundleSID,
		&n.EmergencyStatus, &n.EmergencyAddressSID, &n.EmergencyAddressStatus,
		&n.Origin, &n.Status, &n.Type, created, updated}
}

func scanNumber(r rowScanner) (PhoneNumber, error) {
	var n PhoneNumber
	var voiceApp, smsApp sql.NullString
	var created, updated int64
	err := r.Scan(numberDest(&n, &voiceApp, &smsApp, &created, &updated)...)
	n.VoiceApplicationSID, n.SMSApplicationSID = voiceApp.String, smsApp.String
	n.DateCreated, n.DateUpdated = ti(created), ti(updated)
	return n, err
}

func numberArgs(n PhoneNumber) []any {
	return []any{n.SID, n.AccountSID, n.PhoneNumber, n.FriendlyName, n.APIVersion, n.Beta,
		n.Capabilities.Voice, n.Capabilities.SMS, n.Capabilities.MMS, n.Capabilities.Fax,
		n.VoiceURL, n.VoiceMethod, n.VoiceFallbackURL, n.VoiceFallbackMethod,
		ns(n.VoiceApplicationSID), n.VoiceCallerIDLookup, n.VoiceReceiveMode,
		n.StatusCallback, n.StatusCallbackMethod,
		n.SMSURL, n.SMSMethod, n.SMSFallbackURL, n.SMSFallbackMethod, ns(n.SMSApplicationSID),
		n.TrunkSID, n.AddressSID, n.AddressRequirements, n.IdentitySID, n.BundleSID,
		n.EmergencyStatus, n.EmergencyAddressSID, n.EmergencyAddressStatus,
		n.Origin, n.Status, n.Type, n.DateCreated.UnixNano(), n.DateUpdated.UnixNano()}
}

const lookupNumberSQL = `SELECT ` + numberCols + `,
	ac.sid, ac.owner_sid, ac.friendly_name, ac.status, ac.type, ac.auth_token, ac.date_created, ac.date_updated
	FROM incoming_phone_numbers n JOIN accounts ac ON ac.sid = n.account_sid
	WHERE n.phone_number = ?`

var numberInsertCols = strings.ReplaceAll(numberCols, "n.", "")

// CreatePhoneNumber implements PhoneNumbers.
func (s *SQLite) CreatePhoneNumber(ctx context.Context, n PhoneNumber) error {
	_, err := s.execWrite(ctx, `INSERT INTO incoming_phone_numbers(`+numberInsertCols+`)
		VALUES (`+placeholders(37)+`)`, numberArgs(n)...)
	if err != nil {
		return writeErr("create phone number", n.PhoneNumber, err)
	}
	return nil
}

// PhoneNumber implements PhoneNumbers.
func (s *SQLite) PhoneNumber(ctx context.Context, sid string) (PhoneNumber, error) {
	return getOne(ctx, s.r, "phone number", sid,
		`SELECT `+numberCols+` FROM incoming_phone_numbers n WHERE n.sid = ?`, scanNumber, sid)
}

// ListPhoneNumbers implements PhoneNumbers.
func (s *SQLite) ListPhoneNumbers(ctx context.Context, f PhoneNumberFilter, p Page) ([]PhoneNumber, error) {
	q := listQuery{table: "incoming_phone_numbers n", cols: numberCols,
		where: []string{"n.account_sid = ?"}, args: []any{f.AccountSID},
		scope: "n.account_sid = ?", scopeArgs: []any{f.AccountSID}, keyCol: "n.sid"}
	if f.FriendlyName != "" {
		q.where = append(q.where, "n.friendly_name = ?")
		q.args = append(q.args, f.FriendlyName)
	}
	if f.PhoneNumber != "" {
		// Twilio: partial match, '*' stands for one digit.
		pat := "%" + strings.ReplaceAll(likeEscape(f.PhoneNumber), "*", "_") + "%"
		q.where = append(q.where, `n.phone_number LIKE ? ESCAPE '\'`)
		q.args = append(q.args, pat)
	}
	if f.Origin != "" {
		q.where = append(q.where, "n.origin = ?")
		q.args = append(q.args, f.Origin)
	}
	if f.Beta != nil {
		q.where = append(q.where, "n.beta = ?")
		q.args = append(q.args, *f.Beta)
	}
	return list(ctx, s.r, q, p, scanNumber)
}

// UpdatePhoneNumber implements PhoneNumbers.
func (s *SQLite) UpdatePhoneNumber(ctx context.Context, n PhoneNumber) error {
	res, err := s.execWrite(ctx, `UPDATE incoming_phone_numbers SET account_sid = ?, friendly_name = ?,
		api_version = ?, beta = ?, cap_voice = ?, cap_sms = ?, cap_mms = ?, cap_fax = ?,
		voice_url = ?, voice_method = ?, voice_fallback_url = ?, voice_fallback_method = ?,
		voice_application_sid = ?, voice_caller_id_lookup = ?, voice_receive_mode = ?,
		status_callback = ?, status_callback_method = ?,
		sms_url = ?, sms_method = ?, sms_fallback_url = ?, sms_fallback_method = ?, sms_application_sid = ?,
		trunk_sid = ?, address_sid = ?, address_requirements = ?, identity_sid = ?, bundle_sid = ?,
		emergency_status = ?, emergency_address_sid = ?, emergency_address_status = ?,
		origin = ?, status = ?, type = ?, date_updated = ?
		WHERE sid = ?`,
		n.AccountSID, n.FriendlyName, n.APIVersion, n.Beta,
		n.Capabilities.Voice, n.Capabilities.SMS, n.Capabilities.MMS, n.Capabilities.Fax,
		n.VoiceURL, n.VoiceMethod, n.VoiceFallbackURL, n.VoiceFallbackMethod,
		ns(n.VoiceApplicationSID), n.VoiceCallerIDLookup, n.VoiceReceiveMode,
		n.StatusCallback, n.StatusCallbackMethod,
		n.SMSURL, n.SMSMethod, n.SMSFallbackURL, n.SMSFallbackMethod, ns(n.SMSApplicationSID),
		n.TrunkSID, n.AddressSID, n.AddressRequirements, n.IdentitySID, n.BundleSID,
		n.EmergencyStatus, n.EmergencyAddressSID, n.EmergencyAddressStatus,
		n.Origin, n.Status, n.Type, n.DateUpdated.UnixNano(), n.SID)
	return affected(res, err, "update phone number", n.SID)
}

// DeletePhoneNumber implements PhoneNumbers.
func (s *SQLite) DeletePhoneNumber(ctx context.Context, accountSID, sid string) error {
	res, err := s.execWrite(ctx, `DELETE FROM incoming_phone_numbers WHERE sid = ? AND account_sid = ?`, sid, accountSID)
	return affected(res, err, "delete phone number", sid)
}

// LookupNumber implements PhoneNumbers: the number and its account in one
// query, then the voice application when there is one.
func (s *SQLite) LookupNumber(ctx context.Context, e164 string) (NumberRoute, error) {
	return cached(s, cacheNumber, e164, func() (NumberRoute, error) { return s.lookupNumber(ctx, e164) })
}

func (s *SQLite) lookupNumber(ctx context.Context, e164 string) (NumberRoute, error) {
	var r NumberRoute
	var voiceApp, smsApp sql.NullString
	var created, updated, acCreated, acUpdated int64
	a := &r.Account
	dest := append(numberDest(&r.Number, &voiceApp, &smsApp, &created, &updated),
		&a.SID, &a.OwnerSID, &a.FriendlyName, &a.Status, &a.Type, &a.AuthToken, &acCreated, &acUpdated)
	err := s.lookupNumberStmt.QueryRowContext(ctx, e164).Scan(dest...)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return NumberRoute{}, fmt.Errorf("lookup number %s: %w", e164, ErrNotFound)
		}
		return NumberRoute{}, fmt.Errorf("lookup number %s: %w", e164, err)
	}
	r.Number.VoiceApplicationSID, r.Number.SMSApplicationSID = voiceApp.String, smsApp.String
	r.Number.DateCreated, r.Number.DateUpdated = ti(created), ti(updated)
	a.DateCreated, a.DateUpdated = ti(acCreated), ti(acUpdated)
	if r.Number.VoiceApplicationSID != "" {
		app, err := s.Application(ctx, r.Number.VoiceApplicationSID)
		switch {
		case err == nil:
			r.Application, r.HasApplication = app, true
		case !errors.Is(err, ErrNotFound): // deleted meanwhile: the number's own URLs apply
			return NumberRoute{}, fmt.Errorf("lookup number %s: %w", e164, err)
		}
	}
	return r, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
