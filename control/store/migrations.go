package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one schema step. Steps are applied in order, each in its own
// transaction, and recorded in schema_migrations; a step, once released, is
// never edited: changes are new steps.
type migration struct {
	version int
	name    string
	stmts   []string
}

// Times are INTEGER Unix nanoseconds (NULL when unknown); seq orders lists by
// insertion and is what page tokens resolve to. Empty references are NULL so
// that foreign keys hold.
var migrations = []migration{
	{1, "accounts, applications, incoming phone numbers, calls", []string{
		`CREATE TABLE accounts (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			sid TEXT NOT NULL UNIQUE,
			owner_sid TEXT NOT NULL,
			friendly_name TEXT NOT NULL,
			status TEXT NOT NULL CHECK (status IN ('active','suspended','closed')),
			type TEXT NOT NULL,
			auth_token TEXT NOT NULL,
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL
		)`,
		`CREATE INDEX accounts_owner ON accounts(owner_sid)`,
		`CREATE TABLE applications (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			sid TEXT NOT NULL UNIQUE,
			account_sid TEXT NOT NULL REFERENCES accounts(sid),
			friendly_name TEXT NOT NULL,
			api_version TEXT NOT NULL,
			voice_url TEXT NOT NULL,
			voice_method TEXT NOT NULL,
			voice_fallback_url TEXT NOT NULL,
			voice_fallback_method TEXT NOT NULL,
			status_callback TEXT NOT NULL,
			status_callback_method TEXT NOT NULL,
			voice_caller_id_lookup INTEGER NOT NULL,
			sms_url TEXT NOT NULL,
			sms_method TEXT NOT NULL,
			sms_fallback_url TEXT NOT NULL,
			sms_fallback_method TEXT NOT NULL,
			sms_status_callback TEXT NOT NULL,
			message_status_callback TEXT NOT NULL,
			public_application_connect_enabled INTEGER NOT NULL,
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL
		)`,
		`CREATE INDEX applications_account ON applications(account_sid, seq)`,
		`CREATE TABLE incoming_phone_numbers (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			sid TEXT NOT NULL UNIQUE,
			account_sid TEXT NOT NULL REFERENCES accounts(sid),
			phone_number TEXT NOT NULL UNIQUE,
			friendly_name TEXT NOT NULL,
			api_version TEXT NOT NULL,
			beta INTEGER NOT NULL,
			cap_voice INTEGER NOT NULL,
			cap_sms INTEGER NOT NULL,
			cap_mms INTEGER NOT NULL,
			cap_fax INTEGER NOT NULL,
			voice_url TEXT NOT NULL,
			voice_method TEXT NOT NULL,
			voice_fallback_url TEXT NOT NULL,
			voice_fallback_method TEXT NOT NULL,
			voice_application_sid TEXT REFERENCES applications(sid) ON DELETE SET NULL,
			voice_caller_id_lookup INTEGER NOT NULL,
			voice_receive_mode TEXT NOT NULL,
			status_callback TEXT NOT NULL,
			status_callback_method TEXT NOT NULL,
			sms_url TEXT NOT NULL,
			sms_method TEXT NOT NULL,
			sms_fallback_url TEXT NOT NULL,
			sms_fallback_method TEXT NOT NULL,
			sms_application_sid TEXT REFERENCES applications(sid) ON DELETE SET NULL,
			trunk_sid TEXT NOT NULL,
			address_sid TEXT NOT NULL,
			address_requirements TEXT NOT NULL,
			identity_sid TEXT NOT NULL,
			bundle_sid TEXT NOT NULL,
			emergency_status TEXT NOT NULL,
			emergency_address_sid TEXT NOT NULL,
			emergency_address_status TEXT NOT NULL,
			origin TEXT NOT NULL,
			status TEXT NOT NULL,
			type TEXT NOT NULL,
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL
		)`,
		`CREATE INDEX incoming_phone_numbers_account ON incoming_phone_numbers(account_sid, seq)`,
		`CREATE INDEX incoming_phone_numbers_voice_app ON incoming_phone_numbers(voice_application_sid)`,
		`CREATE INDEX incoming_phone_numbers_sms_app ON incoming_phone_numbers(sms_application_sid)`,
		// No foreign key on calls.account_sid: the batching writer must never
		// lose a finished call's record to a constraint.
		`CREATE TABLE calls (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			sid TEXT NOT NULL UNIQUE,
			account_sid TEXT NOT NULL,
			parent_call_sid TEXT NOT NULL,
			direction TEXT NOT NULL,
			from_ TEXT NOT NULL,
			to_ TEXT NOT NULL,
			from_formatted TEXT NOT NULL,
			to_formatted TEXT NOT NULL,
			status TEXT NOT NULL,
			start_time INTEGER,
			end_time INTEGER,
			duration INTEGER,
			answered_by TEXT NOT NULL,
			forwarded_from TEXT NOT NULL,
			caller_name TEXT NOT NULL,
			sip_call_id TEXT NOT NULL,
			sip_response_code INTEGER NOT NULL,
			error_code INTEGER NOT NULL,
			error_message TEXT NOT NULL,
			phone_number_sid TEXT NOT NULL,
			api_version TEXT NOT NULL,
			queue_time INTEGER,
			trunk_sid TEXT NOT NULL,
			group_sid TEXT NOT NULL,
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL
		)`,
		`CREATE INDEX calls_account ON calls(account_sid, seq)`,
		`CREATE INDEX calls_parent ON calls(parent_call_sid)`,
		`CREATE INDEX calls_live ON calls(status) WHERE status IN ('queued','initiated','ringing','in-progress')`,
	}},
	{2, "sip domains, credential lists, credentials, mappings", []string{
		`CREATE TABLE sip_domains (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			sid TEXT NOT NULL UNIQUE,
			account_sid TEXT NOT NULL REFERENCES accounts(sid),
			api_version TEXT NOT NULL,
			domain_name TEXT NOT NULL UNIQUE,
			friendly_name TEXT NOT NULL,
			voice_url TEXT NOT NULL,
			voice_method TEXT NOT NULL,
			voice_fallback_url TEXT NOT NULL,
			voice_fallback_method TEXT NOT NULL,
			voice_status_callback_url TEXT NOT NULL,
			voice_status_callback_method TEXT NOT NULL,
			sip_registration INTEGER NOT NULL,
			emergency_calling_enabled INTEGER NOT NULL,
			secure INTEGER NOT NULL,
			byoc_trunk_sid TEXT NOT NULL,
			emergency_caller_sid TEXT NOT NULL,
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL
		)`,
		`CREATE INDEX sip_domains_account ON sip_domains(account_sid, seq)`,
		`CREATE TABLE sip_credential_lists (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			sid TEXT NOT NULL UNIQUE,
			account_sid TEXT NOT NULL REFERENCES accounts(sid),
			friendly_name TEXT NOT NULL,
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL
		)`,
		`CREATE INDEX sip_credential_lists_account ON sip_credential_lists(account_sid, seq)`,
		// The password is never stored: only the RFC 7616 HA1 values and the
		// realm they were computed for.
		`CREATE TABLE sip_credentials (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			sid TEXT NOT NULL UNIQUE,
			account_sid TEXT NOT NULL,
			credential_list_sid TEXT NOT NULL REFERENCES sip_credential_lists(sid) ON DELETE CASCADE,
			username TEXT NOT NULL,
			realm TEXT NOT NULL,
			ha1_md5 TEXT NOT NULL,
			ha1_sha256 TEXT NOT NULL,
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL,
			UNIQUE (credential_list_sid, username)
		)`,
		`CREATE TABLE sip_credential_list_mappings (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			domain_sid TEXT NOT NULL REFERENCES sip_domains(sid) ON DELETE CASCADE,
			credential_list_sid TEXT NOT NULL REFERENCES sip_credential_lists(sid) ON DELETE CASCADE,
			account_sid TEXT NOT NULL,
			purpose TEXT NOT NULL CHECK (purpose IN ('calls','registrations')),
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL,
			UNIQUE (domain_sid, purpose, credential_list_sid)
		)`,
		`CREATE INDEX sip_credential_list_mappings_list ON sip_credential_list_mappings(credential_list_sid)`,
	}},
	// No foreign keys, as for calls: a notification may be written before
	// its call's record, and the batching writer must never lose one to a
	// constraint. call_sid is '' for an account-level notification.
	{3, "notifications", []string{
		`CREATE TABLE notifications (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			sid TEXT NOT NULL UNIQUE,
			account_sid TEXT NOT NULL,
			call_sid TEXT NOT NULL,
			api_version TEXT NOT NULL,
			error_code INTEGER NOT NULL,
			log INTEGER NOT NULL CHECK (log IN (0, 1)),
			message_text TEXT NOT NULL,
			message_date INTEGER NOT NULL,
			more_info TEXT NOT NULL,
			request_method TEXT NOT NULL,
			request_url TEXT NOT NULL,
			request_variables TEXT NOT NULL,
			response_body TEXT NOT NULL,
			response_headers TEXT NOT NULL,
			date_created INTEGER NOT NULL,
			date_updated INTEGER NOT NULL
		)`,
		`CREATE INDEX notifications_account ON notifications(account_sid, seq)`,
		`CREATE INDEX notifications_call ON notifications(call_sid, seq)`,
	}},
}

// SchemaVersion is the newest schema this binary knows.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate applies every step newer than the database's version, in order.
// A database newer than this binary is refused rather than guessed at.
func migrate(ctx context.Context, db *sql.DB, now time.Time) (applied []int, err error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if current > SchemaVersion() {
		return nil, fmt.Errorf("database schema version %d is newer than this binary's %d", current, SchemaVersion())
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		did, err := applyMigration(ctx, db, m, now)
		if err != nil {
			return applied, err
		}
		if did {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// applyMigration runs one step in a write transaction. The version is read
// again inside it, so two processes opening a new file at once apply each
// step once.
func applyMigration(ctx context.Context, db *sql.DB, m migration, now time.Time) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %d: begin: %w", m.version, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, fmt.Errorf("migration %d: read schema version: %w", m.version, err)
	}
	if current >= m.version {
		return false, nil
	}
	for i, s := range m.stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return false, fmt.Errorf("migration %d (%s) statement %d: %w", m.version, m.name, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, now.UnixNano()); err != nil {
		return false, fmt.Errorf("migration %d: record: %w", m.version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: commit: %w", m.version, err)
	}
	return true, nil
}
