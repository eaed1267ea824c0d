package store

import (
	"context"
	"errors"
	"fmt"
)

const accountCols = `sid, owner_sid, friendly_name, status, type, auth_token, date_created, date_updated`

const accountBySIDSQL = `SELECT ` + accountCols + ` FROM accounts WHERE sid = ?`

func scanAccount(r rowScanner) (Account, error) {
	var a Account
	var created, updated int64
	err := r.Scan(&a.SID, &a.OwnerSID, &a.FriendlyName, &a.Status, &a.Type, &a.AuthToken, &created, &updated)
	a.DateCreated, a.DateUpdated = ti(created), ti(updated)
	return a, err
}

// EnsureMainAccount implements Accounts.
func (s *SQLite) EnsureMainAccount(ctx context.Context, main Account) (Account, bool, error) {
	if main.SID != "" && !ValidSID("AC", main.SID) {
		return Account{}, false, fmt.Errorf("main account sid %q: must be AC followed by 32 hex digits", main.SID)
	}
	if main.AuthToken != "" && !validToken(main.AuthToken) {
		// twilio-go refuses a password that is not alphanumeric.
		return Account{}, false, errors.New("main account auth token: must be 16 to 64 letters and digits")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return Account{}, false, fmt.Errorf("ensure main account: %w", err)
	}
	defer s.changed()   // runs after the commit or the rollback
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
		return Account{}, false, fmt.Errorf("ensure main account: %w", err)
	}
	if n > 0 {
		existing, err := scanAccount(tx.QueryRowContext(ctx,
			`SELECT `+accountCols+` FROM accounts WHERE sid = owner_sid ORDER BY seq LIMIT 1`))
		if err != nil {
			return Account{}, false, fmt.Errorf("ensure main account: read main account: %w", err)
		}
		if main.SID != "" && main.SID != existing.SID {
			return Account{}, false, fmt.Errorf("ensure main account: the store's main account is %s, not the configured %s", existing.SID, main.SID)
		}
		if main.AuthToken != "" && main.AuthToken != existing.AuthToken {
			return Account{}, false, fmt.Errorf("ensure main account: the configured auth token differs from the one stored for %s (it applies only when the account is first created)", existing.SID)
		}
		return existing, false, nil
	}
	if main.SID == "" {
		main.SID = NewSID("AC")
	}
	if main.AuthToken == "" {
		main.AuthToken = NewAuthToken()
	}
	main.OwnerSID = main.SID
	if main.Status == "" {
		main.Status = AccountActive
	}
	if main.Type == "" {
		main.Type = "Full"
	}
	if main.FriendlyName == "" {
		main.FriendlyName = "Main account"
	}
	now := s.now().UTC()
	if main.DateCreated.IsZero() {
		main.DateCreated = now
	}
	if main.DateUpdated.IsZero() {
		main.DateUpdated = main.DateCreated
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO accounts(`+accountCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		main.SID, main.OwnerSID, main.FriendlyName, main.Status, main.Type, main.AuthToken,
		main.DateCreated.UnixNano(), main.DateUpdated.UnixNano()); err != nil {
		return Account{}, false, writeErr("create main account", main.SID, err)
	}
	if err := tx.Commit(); err != nil {
		return Account{}, false, fmt.Errorf("ensure main account: commit: %w", err)
	}
	return main, true, nil
}

// CreateAccount implements Accounts.
func (s *SQLite) CreateAccount(ctx context.Context, a Account) error {
	if a.SID == "" || a.OwnerSID == "" {
		return errors.New("create account: sid and owner are required")
	}
	_, err := s.execWrite(ctx, `INSERT INTO accounts(`+accountCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		a.SID, a.OwnerSID, a.FriendlyName, a.Status, a.Type, a.AuthToken, a.DateCreated.UnixNano(), a.DateUpdated.UnixNano())
	if err != nil {
		return writeErr("create account", a.SID, err)
	}
	return nil
}

// Account implements Accounts.
func (s *SQLite) Account(ctx context.Context, sid string) (Account, error) {
	return cached(s, cacheAccount, sid, func() (Account, error) {
		return getPrepared(ctx, s.accountStmt, "account", sid, scanAccount, sid)
	})
}

// ListAccounts implements Accounts.
func (s *SQLite) ListAccounts(ctx context.Context, f AccountFilter, p Page) ([]Account, error) {
	q := listQuery{table: "accounts", cols: accountCols}
	if f.Family != "" {
		q.where = append(q.where, "(sid = ? OR owner_sid = ?)")
		q.args = append(q.args, f.Family, f.Family)
		q.scope, q.scopeArgs = "(sid = ? OR owner_sid = ?)", []any{f.Family, f.Family}
	}
	if f.FriendlyName != "" {
		q.where = append(q.where, "friendly_name = ?")
		q.args = append(q.args, f.FriendlyName)
	}
	if f.Status != "" {
		q.where = append(q.where, "status = ?")
		q.args = append(q.args, f.Status)
	}
	return list(ctx, s.r, q, p, scanAccount)
}

// UpdateAccount implements Accounts.
func (s *SQLite) UpdateAccount(ctx context.Context, a Account) error {
	res, err := s.execWrite(ctx, `UPDATE accounts SET friendly_name = ?, status = ?, date_updated = ? WHERE sid = ?`,
		a.FriendlyName, a.Status, a.DateUpdated.UnixNano(), a.SID)
	return affected(res, err, "update account", a.SID)
}

func validToken(t string) bool {
	if len(t) < 16 || len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
