package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

const callCols = `sid, account_sid, parent_call_sid, direction, from_, to_, from_formatted, to_formatted,
	status, start_time, end_time, duration, answered_by, forwarded_from, caller_name, sip_call_id,
	sip_response_code, error_code, error_message, phone_number_sid, api_version, queue_time,
	trunk_sid, group_sid, date_created, date_updated`

// upsertCallSQL inserts a record or rewrites every column of an existing one
// but date_created (and seq, which keeps the list order of first sight).
const upsertCallSQL = `INSERT INTO calls(` + callCols + `)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
	ON CONFLICT(sid) DO UPDATE SET
		account_sid = excluded.account_sid, parent_call_sid = excluded.parent_call_sid,
		direction = excluded.direction, from_ = excluded.from_, to_ = excluded.to_,
		from_formatted = excluded.from_formatted, to_formatted = excluded.to_formatted,
		status = excluded.status, start_time = excluded.start_time, end_time = excluded.end_time,
		duration = excluded.duration, answered_by = excluded.answered_by,
		forwarded_from = excluded.forwarded_from, caller_name = excluded.caller_name,
		sip_call_id = excluded.sip_call_id, sip_response_code = excluded.sip_response_code,
		error_code = excluded.error_code, error_message = excluded.error_message,
		phone_number_sid = excluded.phone_number_sid, api_version = excluded.api_version,
		queue_time = excluded.queue_time, trunk_sid = excluded.trunk_sid, group_sid = excluded.group_sid,
		date_updated = excluded.date_updated`

// updateLiveCallSQL rewrites a record this store inserted earlier, leaving
// out the columns that never change (sid, account, parent, creation date):
// SQLite then leaves the account and parent indexes alone, a fifth of the
// cost of a status change. It matches no row when the record is not there,
// and execCall falls back to the upsert.
const updateLiveCallSQL = `UPDATE calls SET direction = ?, from_ = ?, to_ = ?,
	from_formatted = ?, to_formatted = ?, status = ?, start_time = ?, end_time = ?,
	duration = ?, answered_by = ?, forwarded_from = ?, caller_name = ?,
	sip_call_id = ?, sip_response_code = ?, error_code = ?, error_message = ?,
	phone_number_sid = ?, api_version = ?, queue_time = ?, trunk_sid = ?, group_sid = ?,
	date_updated = ?
	WHERE sid = ?`

// liveRow is what the store remembers of a live call's row it wrote: the
// columns updateLiveCallSQL leaves out.
type liveRow struct{ account, parent string }

// liveRows tracks the live calls whose rows this store wrote, so that their
// next status change can take updateLiveCallSQL. It is bounded by the calls
// live at once (a row leaves it with its terminal status); the cap only
// guards against records that never reach one.
type liveRows struct {
	mu sync.Mutex
	m  map[string]liveRow
}

const maxLiveRows = 1 << 20

// plan reports whether c can take the narrow update.
func (l *liveRows) plan(c *Call) bool {
	l.mu.Lock()
	r, ok := l.m[c.SID]
	l.mu.Unlock()
	return ok && r.account == c.AccountSID && r.parent == c.ParentCallSID
}

// committed records what a committed batch wrote.
func (l *liveRows) committed(calls []Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]liveRow)
	}
	for i := range calls {
		c := &calls[i]
		if !CallLive(c.Status) {
			delete(l.m, c.SID)
			continue
		}
		if len(l.m) >= maxLiveRows {
			clear(l.m)
		}
		l.m[c.SID] = liveRow{c.AccountSID, c.ParentCallSID}
	}
}

func scanCall(r rowScanner) (Call, error) {
	var c Call
	var start, end, dur, queue sql.NullInt64
	var created, updated int64
	err := r.Scan(&c.SID, &c.AccountSID, &c.ParentCallSID, &c.Direction, &c.From, &c.To,
		&c.FromFormatted, &c.ToFormatted, &c.Status, &start, &end, &dur, &c.AnsweredBy,
		&c.ForwardedFrom, &c.CallerName, &c.SIPCallID, &c.SIPResponseCode, &c.ErrorCode,
		&c.ErrorMessage, &c.PhoneNumberSID, &c.APIVersion, &queue, &c.TrunkSID, &c.GroupSID,
		&created, &updated)
	c.StartTime, c.EndTime = tn(start), tn(end)
	c.Duration = sql.Null[int64]{V: dur.Int64, Valid: dur.Valid}
	c.QueueTime = sql.Null[int64]{V: queue.Int64, Valid: queue.Valid}
	c.DateCreated, c.DateUpdated = ti(created), ti(updated)
	return c, err
}

// SaveCalls implements Calls.
func (s *SQLite) SaveCalls(ctx context.Context, calls []Call) error {
	return s.SaveRecords(ctx, calls, nil)
}

// execCall writes one record in a transaction: with update (the prepared
// updateLiveCallSQL) when narrow is set and the row is there, else with
// upsert; zero dates become now.
func execCall(ctx context.Context, upsert, update *sql.Stmt, narrow bool, c *Call, now time.Time) error {
	created, updated := c.DateCreated, c.DateUpdated
	if created.IsZero() {
		created = now
	}
	if updated.IsZero() {
		updated = now
	}
	if narrow {
		res, err := update.ExecContext(ctx, c.Direction, c.From, c.To, c.FromFormatted, c.ToFormatted,
			c.Status, nt(c.StartTime), nt(c.EndTime), nullInt(c.Duration), c.AnsweredBy, c.ForwardedFrom,
			c.CallerName, c.SIPCallID, c.SIPResponseCode, c.ErrorCode, c.ErrorMessage, c.PhoneNumberSID,
			c.APIVersion, nullInt(c.QueueTime), c.TrunkSID, c.GroupSID, updated.UnixNano(), c.SID)
		if err != nil {
			return fmt.Errorf("save call %s: %w", c.SID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
		// Not there (deleted meanwhile): insert it.
	}
	if _, err := upsert.ExecContext(ctx, c.SID, c.AccountSID, c.ParentCallSID, c.Direction, c.From, c.To,
		c.FromFormatted, c.ToFormatted, c.Status, nt(c.StartTime), nt(c.EndTime), nullInt(c.Duration),
		c.AnsweredBy, c.ForwardedFrom, c.CallerName, c.SIPCallID, c.SIPResponseCode, c.ErrorCode,
		c.ErrorMessage, c.PhoneNumberSID, c.APIVersion, nullInt(c.QueueTime), c.TrunkSID, c.GroupSID,
		created.UnixNano(), updated.UnixNano()); err != nil {
		return fmt.Errorf("save call %s: %w", c.SID, err)
	}
	return nil
}

// Call implements Calls.
func (s *SQLite) Call(ctx context.Context, sid string) (Call, error) {
	return getOne(ctx, s.r, "call", sid, `SELECT `+callCols+` FROM calls WHERE sid = ?`, scanCall, sid)
}

// ListCalls implements Calls: newest first, as Twilio lists calls.
func (s *SQLite) ListCalls(ctx context.Context, f CallFilter, p Page) ([]Call, error) {
	q := listQuery{table: "calls", cols: callCols, desc: true,
		where: []string{"account_sid = ?"}, args: []any{f.AccountSID},
		scope: "account_sid = ?", scopeArgs: []any{f.AccountSID}}
	eq := func(col, v string) {
		if v != "" {
			q.where = append(q.where, col+" = ?")
			q.args = append(q.args, v)
		}
	}
	eq("to_", f.To)
	eq("from_", f.From)
	eq("status", f.Status)
	eq("parent_call_sid", f.ParentCallSID)
	rng := func(col string, r TimeRange) {
		if !r.From.IsZero() {
			q.where = append(q.where, col+" >= ?")
			q.args = append(q.args, r.From.UnixNano())
		}
		if !r.To.IsZero() {
			q.where = append(q.where, col+" < ?")
			q.args = append(q.args, r.To.UnixNano())
		}
	}
	rng("start_time", f.StartTime)
	rng("end_time", f.EndTime)
	return list(ctx, s.r, q, p, scanCall)
}

// DeleteCall implements Calls: the record and the call's notifications go
// in one transaction (there is no foreign key to cascade, see migration 3).
func (s *SQLite) DeleteCall(ctx context.Context, accountSID, sid string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete call %s: begin: %w", sid, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	res, err := tx.ExecContext(ctx, `DELETE FROM calls WHERE sid = ? AND account_sid = ?`, sid, accountSID)
	if err := affected(res, err, "delete call", sid); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM notifications WHERE call_sid = ? AND account_sid = ?`, sid, accountSID); err != nil {
		return fmt.Errorf("delete call %s: notifications: %w", sid, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete call %s: commit: %w", sid, err)
	}
	return nil
}

// FailInterruptedCalls implements Calls.
func (s *SQLite) FailInterruptedCalls(ctx context.Context, at time.Time) (int64, error) {
	ts := at.UnixNano()
	res, err := s.w.ExecContext(ctx, `UPDATE calls SET status = 'failed', end_time = COALESCE(end_time, ?),
		date_updated = ? WHERE status IN ('queued','initiated','ringing','in-progress')`, ts, ts)
	if err != nil {
		return 0, fmt.Errorf("fail interrupted calls: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("fail interrupted calls: %w", err)
	}
	return n, nil
}
