package store

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNotificationText bounds each text field of a Notification (message,
// request variables, response body and headers): Twilio refuses webhook
// bodies over 64 kB (error 11750), so nothing longer is worth keeping, and
// the bound keeps the writer's queue from holding unbounded memory.
const MaxNotificationText = 64 << 10

// MoreInfoURL is Twilio's error dictionary page for a code
// (twilio-voice.md §8.3: "more_info is https://www.twilio.com/docs/errors/<code>").
func MoreInfoURL(code int) string {
	return "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)
}

// Validate checks what the store relies on: the SIDs' shapes, the log level
// and a positive error code. An empty SID is valid (it is filled when
// saved).
func (n Notification) Validate() error {
	switch {
	case n.SID != "" && !ValidSID("NO", n.SID):
		return fmt.Errorf("notification sid %q: must be NO and 32 hex digits: %w", clipKey(n.SID), ErrInvalid)
	case !ValidSID("AC", n.AccountSID):
		return fmt.Errorf("notification %s: account sid %q: must be AC and 32 hex digits: %w", n.SID, clipKey(n.AccountSID), ErrInvalid)
	case n.CallSID != "" && !ValidSID("CA", n.CallSID):
		return fmt.Errorf("notification %s: call sid %q: must be empty or CA and 32 hex digits: %w", n.SID, clipKey(n.CallSID), ErrInvalid)
	case n.Log != NotificationError && n.Log != NotificationWarning:
		return fmt.Errorf("notification %s: log %d: must be 0 (error) or 1 (warning): %w", n.SID, n.Log, ErrInvalid)
	case n.ErrorCode <= 0:
		return fmt.Errorf("notification %s: error code %d: must be positive: %w", n.SID, n.ErrorCode, ErrInvalid)
	}
	return nil
}

// normalize fills MoreInfo and makes every text field valid UTF-8 of at
// most MaxNotificationText bytes (a webhook's body is untrusted bytes; the
// API renders JSON).
func (n *Notification) normalize() {
	if n.MoreInfo == "" {
		n.MoreInfo = MoreInfoURL(n.ErrorCode)
	}
	for _, f := range [...]*string{&n.APIVersion, &n.MessageText, &n.MoreInfo, &n.RequestMethod, &n.RequestURL,
		&n.RequestVariables, &n.ResponseBody, &n.ResponseHeaders} {
		*f = cleanText(*f)
	}
}

// cleanText cuts s to MaxNotificationText bytes at a rune boundary and
// replaces invalid UTF-8. A valid, short string is returned as is.
func cleanText(s string) string {
	if len(s) > MaxNotificationText {
		cut := MaxNotificationText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// clipKey bounds a bad key echoed into an error.
func clipKey(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// prepareNotifications checks and normalizes a batch into a copy, filling
// empty SIDs, so that nothing is written when one is bad.
func prepareNotifications(in []Notification) ([]Notification, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]Notification, len(in))
	for i, n := range in {
		if n.SID == "" {
			n.SID = NewSID("NO")
		}
		if err := n.Validate(); err != nil {
			return nil, err
		}
		n.normalize()
		out[i] = n
	}
	return out, nil
}

const notificationCols = `sid, account_sid, call_sid, api_version, error_code, log, message_text,
	message_date, more_info, request_method, request_url, request_variables, response_body,
	response_headers, date_created, date_updated`

// notificationListCols leaves out the request and response data: Twilio's
// list representation does not carry it ("due to the potentially
// voluminous amount of data in a notification, the full HTTP request and
// response data is only returned in the Notification instance").
const notificationListCols = `sid, account_sid, call_sid, api_version, error_code, log, message_text,
	message_date, more_info, request_method, request_url, '', '', '', date_created, date_updated`

// insertNotificationSQL keeps the first save of a SID: a notification is a
// log entry and does not change.
const insertNotificationSQL = `INSERT INTO notifications(` + notificationCols + `)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
	ON CONFLICT(sid) DO NOTHING`

func scanNotification(r rowScanner) (Notification, error) {
	var n Notification
	var msgDate, created, updated int64
	err := r.Scan(&n.SID, &n.AccountSID, &n.CallSID, &n.APIVersion, &n.ErrorCode, &n.Log, &n.MessageText,
		&msgDate, &n.MoreInfo, &n.RequestMethod, &n.RequestURL, &n.RequestVariables, &n.ResponseBody,
		&n.ResponseHeaders, &created, &updated)
	n.MessageDate, n.DateCreated, n.DateUpdated = ti(msgDate), ti(created), ti(updated)
	return n, err
}

// SaveNotifications implements Notifications.
func (s *SQLite) SaveNotifications(ctx context.Context, notifications []Notification) error {
	return s.SaveRecords(ctx, nil, notifications)
}

// SaveRecords implements Notifications: one transaction for the batch.
func (s *SQLite) SaveRecords(ctx context.Context, calls []Call, notifications []Notification) error {
	if len(calls) == 0 && len(notifications) == 0 {
		return nil
	}
	notes, err := prepareNotifications(notifications)
	if err != nil {
		return fmt.Errorf("save %d notifications: %w", len(notifications), err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save %d calls and %d notifications: begin: %w", len(calls), len(notes), err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	now := s.now().UTC()
	if len(calls) > 0 {
		upsert, update := tx.StmtContext(ctx, s.upsert), tx.StmtContext(ctx, s.updateLive)
		for i := range calls {
			if err := execCall(ctx, upsert, update, s.live.plan(&calls[i]), &calls[i], now); err != nil {
				return err
			}
			yieldBetweenRows()
		}
	}
	if len(notes) > 0 {
		st := tx.StmtContext(ctx, s.insertNotification)
		for i := range notes {
			n := &notes[i]
			created, updated, at := n.DateCreated, n.DateUpdated, n.MessageDate
			if created.IsZero() {
				created = now
			}
			if updated.IsZero() {
				updated = created
			}
			if at.IsZero() {
				at = created
			}
			if _, err := st.ExecContext(ctx, n.SID, n.AccountSID, n.CallSID, n.APIVersion, n.ErrorCode, n.Log,
				n.MessageText, at.UnixNano(), n.MoreInfo, n.RequestMethod, n.RequestURL, n.RequestVariables,
				n.ResponseBody, n.ResponseHeaders, created.UnixNano(), updated.UnixNano()); err != nil {
				return fmt.Errorf("save notification %s: %w", n.SID, err)
			}
			yieldBetweenRows()
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save %d calls and %d notifications: commit: %w", len(calls), len(notes), err)
	}
	s.live.committed(calls)
	return nil
}

// yieldBetweenRows lets other goroutines run between the rows of a batch.
// A batch is one transaction of up to max_batch rows at tens of
// microseconds each: hundreds of rows are several milliseconds of CPU,
// and on a daemon with one P (GOMAXPROCS 1) every call's SIP handling
// would wait behind them (a runtime trace at 1000 calls/s showed the
// writer holding the P 6-8 ms at a time, a tail of call setup latency
// second only to the collector's). The goroutine yields its P instead;
// the write transaction stays open (readers are not blocked in WAL mode).
func yieldBetweenRows() { runtime.Gosched() }

// Notification implements Notifications.
func (s *SQLite) Notification(ctx context.Context, sid string) (Notification, error) {
	return getOne(ctx, s.r, "notification", sid, `SELECT `+notificationCols+` FROM notifications WHERE sid = ?`, scanNotification, sid)
}

// ListNotifications implements Notifications: newest first, without the
// request and response data (see notificationListCols).
func (s *SQLite) ListNotifications(ctx context.Context, f NotificationFilter, p Page) ([]Notification, error) {
	q := listQuery{table: "notifications", cols: notificationListCols, desc: true,
		where: []string{"account_sid = ?"}, args: []any{f.AccountSID},
		scope: "account_sid = ?", scopeArgs: []any{f.AccountSID}}
	if f.CallSID != "" {
		q.where = append(q.where, "call_sid = ?")
		q.args = append(q.args, f.CallSID)
	}
	if f.Log != nil {
		q.where = append(q.where, "log = ?")
		q.args = append(q.args, *f.Log)
	}
	if !f.MessageDate.From.IsZero() {
		q.where = append(q.where, "message_date >= ?")
		q.args = append(q.args, f.MessageDate.From.UnixNano())
	}
	if !f.MessageDate.To.IsZero() {
		q.where = append(q.where, "message_date < ?")
		q.args = append(q.args, f.MessageDate.To.UnixNano())
	}
	return list(ctx, s.r, q, p, scanNotification)
}

// DeleteNotification implements Notifications.
func (s *SQLite) DeleteNotification(ctx context.Context, accountSID, sid string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM notifications WHERE sid = ? AND account_sid = ?`, sid, accountSID)
	return affected(res, err, "delete notification", sid)
}
