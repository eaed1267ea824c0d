package store

import (
	"context"
	"fmt"
)

const applicationCols = `sid, account_sid, friendly_name, api_version, voice_url, voice_method,
	voice_fallback_url, voice_fallback_method, status_callback, status_callback_method,
	voice_caller_id_lookup, sms_url, sms_method, sms_fallback_url, sms_fallback_method,
	sms_status_callback, message_status_callback, public_application_connect_enabled,
	date_created, date_updated`

const applicationBySIDSQL = `SELECT ` + applicationCols + ` FROM applications WHERE sid = ?`

func scanApplication(r rowScanner) (Application, error) {
	var a Application
	var created, updated int64
	err := r.Scan(&a.SID, &a.AccountSID, &a.FriendlyName, &a.APIVersion, &a.VoiceURL, &a.VoiceMethod,
		&a.VoiceFallbackURL, &a.VoiceFallbackMethod, &a.StatusCallback, &a.StatusCallbackMethod,
		&a.VoiceCallerIDLookup, &a.SMSURL, &a.SMSMethod, &a.SMSFallbackURL, &a.SMSFallbackMethod,
		&a.SMSStatusCallback, &a.MessageStatusCallback, &a.PublicApplicationConnectEnabled,
		&created, &updated)
	a.DateCreated, a.DateUpdated = ti(created), ti(updated)
	return a, err
}

// CreateApplication implements Applications.
func (s *SQLite) CreateApplication(ctx context.Context, a Application) error {
	_, err := s.execWrite(ctx, `INSERT INTO applications(`+applicationCols+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		a.SID, a.AccountSID, a.FriendlyName, a.APIVersion, a.VoiceURL, a.VoiceMethod,
		a.VoiceFallbackURL, a.VoiceFallbackMethod, a.StatusCallback, a.StatusCallbackMethod,
		a.VoiceCallerIDLookup, a.SMSURL, a.SMSMethod, a.SMSFallbackURL, a.SMSFallbackMethod,
		a.SMSStatusCallback, a.MessageStatusCallback, a.PublicApplicationConnectEnabled,
		a.DateCreated.UnixNano(), a.DateUpdated.UnixNano())
	if err != nil {
		return writeErr("create application", a.SID, err)
	}
	return nil
}

// Application implements Applications.
func (s *SQLite) Application(ctx context.Context, sid string) (Application, error) {
	return cached(s, cacheApplication, sid, func() (Application, error) {
		return getPrepared(ctx, s.applicationStmt, "application", sid, scanApplication, sid)
	})
}

// ListApplications implements Applications.
func (s *SQLite) ListApplications(ctx context.Context, f ApplicationFilter, p Page) ([]Application, error) {
	q := listQuery{table: "applications", cols: applicationCols,
		where: []string{"account_sid = ?"}, args: []any{f.AccountSID},
		scope: "account_sid = ?", scopeArgs: []any{f.AccountSID}}
	if f.FriendlyName != "" {
		q.where = append(q.where, "friendly_name = ?")
		q.args = append(q.args, f.FriendlyName)
	}
	return list(ctx, s.r, q, p, scanApplication)
}

// UpdateApplication implements Applications.
func (s *SQLite) UpdateApplication(ctx context.Context, a Application) error {
	res, err := s.execWrite(ctx, `UPDATE applications SET friendly_name = ?, api_version = ?,
		voice_url = ?, voice_method = ?, voice_fallback_url = ?, voice_fallback_method = ?,
		status_callback = ?, status_callback_method = ?, voice_caller_id_lookup = ?,
		sms_url = ?, sms_method = ?, sms_fallback_url = ?, sms_fallback_method = ?,
		sms_status_callback = ?, message_status_callback = ?, public_application_connect_enabled = ?,
		date_updated = ?
		WHERE sid = ? AND account_sid = ?`,
		a.FriendlyName, a.APIVersion, a.VoiceURL, a.VoiceMethod, a.VoiceFallbackURL, a.VoiceFallbackMethod,
		a.StatusCallback, a.StatusCallbackMethod, a.VoiceCallerIDLookup,
		a.SMSURL, a.SMSMethod, a.SMSFallbackURL, a.SMSFallbackMethod,
		a.SMSStatusCallback, a.MessageStatusCallback, a.PublicApplicationConnectEnabled,
		a.DateUpdated.UnixNano(), a.SID, a.AccountSID)
	return affected(res, err, "update application", a.SID)
}

// DeleteApplication implements Applications. The schema's ON DELETE SET NULL
// clears numbers' references to it.
func (s *SQLite) DeleteApplication(ctx context.Context, accountSID, sid string) error {
	res, err := s.execWrite(ctx, `DELETE FROM applications WHERE sid = ? AND account_sid = ?`, sid, accountSID)
	if err != nil {
		return fmt.Errorf("delete application %s: %w", sid, err)
	}
	return affected(res, nil, "delete application", sid)
}
