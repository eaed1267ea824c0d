package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Config tunes the SQLite store. The file path itself comes from the
// daemon's data_dir.
type Config struct {
	// BusyTimeout is how long a statement waits for another connection's
	// lock before failing with SQLITE_BUSY.
	BusyTimeout time.Duration `yaml:"busy_timeout"`
	// ReadConnections bounds the pool of read connections. WAL mode lets
	// readers run beside the single writer.
	ReadConnections int `yaml:"read_connections"`
	// Synchronous is SQLite's synchronous pragma for the WAL file: "normal"
	// survives a process crash (not a power loss) of the last commits,
	// "full" survives both at a cost per commit.
	Synchronous string `yaml:"synchronous"`
	// CacheTTL bounds how long a cached read (account, application, number
	// route, SIP domain, credential) is used. Writes through this daemon
	// invalidate the cache at once; the TTL only bounds how long a write by
	// another process on the same file goes unseen. 0 turns the cache off.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// CacheEntries bounds the read cache; when full it starts over.
	CacheEntries int `yaml:"cache_entries"`
}

// DefaultConfig is the store's configuration when none is given.
func DefaultConfig() Config {
	return Config{BusyTimeout: 5 * time.Second, ReadConnections: 4, Synchronous: "normal",
		CacheTTL: 10 * time.Second, CacheEntries: 16384}
}

// Validate names the first bad key.
func (c Config) Validate() error {
	var errs []error
	if c.BusyTimeout < 0 {
		errs = append(errs, fmt.Errorf("busy_timeout: must not be negative (got %s)", c.BusyTimeout))
	}
	if c.ReadConnections < 1 {
		errs = append(errs, fmt.Errorf("read_connections: must be at least 1 (got %d)", c.ReadConnections))
	}
	if c.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("cache_ttl: must not be negative (got %s)", c.CacheTTL))
	}
	if c.CacheTTL > 0 && c.CacheEntries < 1 {
		errs = append(errs, fmt.Errorf("cache_entries: must be at least 1 while cache_ttl is set (got %d)", c.CacheEntries))
	}
	switch c.Synchronous {
	case "normal", "full":
	default:
		errs = append(errs, fmt.Errorf("synchronous: must be normal or full (got %q)", c.Synchronous))
	}
	return errors.Join(errs...)
}

// Option configures Open.
type Option func(*options)

type options struct {
	logger *slog.Logger
	now    func() time.Time
}

// WithLogger sets the logger (nil discards).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock used for dates the store sets itself (migration
// records, crash recovery).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// SQLite is the embedded Store: one database file in WAL mode, a single
// writer connection (SQLite allows one writer at a time; queuing writers in
// Go is cheaper than SQLITE_BUSY retries) and a pool of readers.
type SQLite struct {
	w, r *sql.DB
	log  *slog.Logger
	now  func() time.Time
	// upsert, updateLive and insertNotification are the batch writer's
	// statements; live tracks the rows updateLive may take.
	upsert, updateLive, insertNotification *sql.Stmt
	live                                   liveRows
	// Reads on the call path and on every API request (authentication),
	// prepared once: compiling the SQL is most of a lookup's cost.
	accountStmt, applicationStmt, lookupNumberStmt *sql.Stmt
	migrated                                       []int
	recovered                                      int64
	// gen counts committed directory writes; cache entries loaded under an
	// older generation are stale (cache.go).
	gen   atomic.Uint64
	cache *readCache
}

var _ Store = (*SQLite)(nil)

// Open opens (creating if needed) the database file at path, applies the
// schema migrations this binary knows, and marks calls a crash left live as
// failed (ARCHITECTURE.md "State").
func Open(ctx context.Context, path string, cfg Config, opts ...Option) (*SQLite, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("store config: %w", err)
	}
	o := options{now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store path %q: must be a plain file path", path)
	}
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", strings.ToUpper(cfg.Synchronous))
	// Write transactions take the write lock at BEGIN, so a transaction never
	// fails half-way trying to upgrade a read lock.
	q.Set("_txlock", "immediate")
	dsn := path + "?" + q.Encode()

	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &SQLite{w: w, log: o.logger, now: o.now, cache: newReadCache(cfg.CacheTTL, cfg.CacheEntries)}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if s.migrated, err = migrate(ctx, w, o.now().UTC()); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(cfg.ReadConnections)
	r.SetMaxIdleConns(cfg.ReadConnections)
	s.r = r
	if s.upsert, err = w.PrepareContext(ctx, upsertCallSQL); err != nil {
		s.Close()
		return nil, fmt.Errorf("prepare call upsert: %w", err)
	}
	if s.updateLive, err = w.PrepareContext(ctx, updateLiveCallSQL); err != nil {
		s.Close()
		return nil, fmt.Errorf("prepare call update: %w", err)
	}
	if s.insertNotification, err = w.PrepareContext(ctx, insertNotificationSQL); err != nil {
		s.Close()
		return nil, fmt.Errorf("prepare notification insert: %w", err)
	}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.accountStmt, accountBySIDSQL},
		{&s.applicationStmt, applicationBySIDSQL},
		{&s.lookupNumberStmt, lookupNumberSQL},
	} {
		if *p.dst, err = r.PrepareContext(ctx, p.query); err != nil {
			s.Close()
			return nil, fmt.Errorf("prepare %q: %w", p.query, err)
		}
	}
	if s.recovered, err = s.FailInterruptedCalls(ctx, o.now()); err != nil {
		s.Close()
		return nil, err
	}
	if len(s.migrated) > 0 {
		s.log.Info("store schema migrated", "path", path, "versions", s.migrated)
	}
	if s.recovered > 0 {
		s.log.Warn("calls left live by the previous run marked failed", "calls", s.recovered)
	}
	return s, nil
}

// execWrite runs a statement that changes the directory (accounts,
// applications, numbers, SIP domains and credentials) and marks the read
// cache stale once it is committed.
func (s *SQLite) execWrite(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	s.changed()
	return res, err
}

// Migrated returns the schema versions Open applied (empty when the file was
// already current).
func (s *SQLite) Migrated() []int { return append([]int(nil), s.migrated...) }

// Recovered returns how many calls Open marked failed because the previous
// run left them live.
func (s *SQLite) Recovered() int64 { return s.recovered }

// SchemaVersion reads the schema version recorded in the database.
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Close closes both pools.
func (s *SQLite) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.upsert, s.updateLive, s.insertNotification, s.accountStmt, s.applicationStmt, s.lookupNumberStmt} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// nt stores a time: NULL when zero.
func nt(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// tn reads a time stored by nt.
func tn(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(0, v.Int64).UTC()
}

// ti reads a NOT NULL time.
func ti(v int64) time.Time { return time.Unix(0, v).UTC() }

// ns stores a reference: NULL when empty, so that foreign keys hold.
func ns(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullInt stores an optional integer.
func nullInt(v sql.Null[int64]) any {
	if !v.Valid {
		return nil
	}
	return v.V
}

// isUnique reports a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKey reports a FOREIGN KEY constraint violation.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// writeErr classifies a failed insert or update.
func writeErr(what, sid string, err error) error {
	switch {
	case isUnique(err):
		return fmt.Errorf("%s %s: %w", what, sid, ErrDuplicate)
	case isForeignKey(err):
		return fmt.Errorf("%s %s: a referenced resource does not exist: %w", what, sid, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", what, sid, err)
}

// affected turns "no row changed" into ErrNotFound.
func affected(res sql.Result, err error, what, sid string) error {
	if err != nil {
		return writeErr(what, sid, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, sid, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", what, sid, ErrNotFound)
	}
	return nil
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// listQuery describes one page query over a table ordered by seq.
type listQuery struct {
	table string
	cols  string
	where []string
	args  []any
	// scope and scopeArgs locate the row a page token names (by keyCol):
	// only the ownership scope, not the filters, since the row may have
	// changed since the previous page (a call's status).
	scope     string
	scopeArgs []any
	keyCol    string
	// seqCol is the ordering column ("seq" unless the table is a join).
	seqCol string
	desc   bool
}

// list runs a page query. Page tokens resolve to the seq of the named row;
// Before pages are read backwards from the token and returned in list order.
func list[T any](ctx context.Context, db *sql.DB, q listQuery, p Page, scan func(rowScanner) (T, error)) ([]T, error) {
	where := append([]string(nil), q.where...)
	args := append([]any(nil), q.args...)
	cmp, order := ">", "ASC"
	if q.desc {
		cmp, order = "<", "DESC"
	}
	reverse := false
	token := p.After
	if token == "" && p.Before != "" {
		token = p.Before
		reverse = true
		if cmp == ">" {
			cmp, order = "<", "DESC"
		} else {
			cmp, order = ">", "ASC"
		}
	}
	seqCol := q.seqCol
	if seqCol == "" {
		seqCol = "seq"
	}
	offset := 0
	if token != "" {
		var seq int64
		key := q.keyCol
		if key == "" {
			key = "sid"
		}
		tq := "SELECT " + seqCol + " FROM " + q.table + " WHERE " + key + " = ?"
		targs := []any{token}
		if q.scope != "" {
			tq += " AND " + q.scope
			targs = append(targs, q.scopeArgs...)
		}
		if err := db.QueryRowContext(ctx, tq, targs...).Scan(&seq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("list %s after %s: %w", q.table, token, ErrBadPageToken)
			}
			return nil, fmt.Errorf("list %s: resolve page token: %w", q.table, err)
		}
		where = append(where, seqCol+" "+cmp+" ?")
		args = append(args, seq)
	} else {
		offset = p.Offset
	}
	size := p.Size
	if size <= 0 {
		size = 50
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(q.cols)
	b.WriteString(" FROM ")
	b.WriteString(q.table)
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY ")
	b.WriteString(seqCol)
	b.WriteString(" ")
	b.WriteString(order)
	b.WriteString(" LIMIT ? OFFSET ?")
	args = append(args, size, offset)
	rows, err := db.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", q.table, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", q.table, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", q.table, err)
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// getOne runs a single-row query and maps no rows to ErrNotFound.
func getOne[T any](ctx context.Context, db *sql.DB, what, key, query string, scan func(rowScanner) (T, error), args ...any) (T, error) {
	return scanOne(db.QueryRowContext(ctx, query, args...), what, key, scan)
}

// getPrepared is getOne with a prepared statement.
func getPrepared[T any](ctx context.Context, st *sql.Stmt, what, key string, scan func(rowScanner) (T, error), args ...any) (T, error) {
	return scanOne(st.QueryRowContext(ctx, args...), what, key, scan)
}

func scanOne[T any](row *sql.Row, what, key string, scan func(rowScanner) (T, error)) (T, error) {
	v, err := scan(row)
	if err != nil {
		var zero T
		if errors.Is(err, sql.ErrNoRows) {
			return zero, fmt.Errorf("%s %s: %w", what, key, ErrNotFound)
		}
		return zero, fmt.Errorf("%s %s: %w", what, key, err)
	}
	return v, nil
}

// likeEscape escapes LIKE metacharacters with '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
