package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func openAt(t *testing.T, path string, c *clock) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), path, DefaultConfig(), WithClock(c.now))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func openTest(t *testing.T) (*SQLite, *clock) {
	t.Helper()
	c := &clock{t: t0}
	s := openAt(t, filepath.Join(t.TempDir(), "tandem.db"), c)
	t.Cleanup(func() { s.Close() })
	return s, c
}

func mustMain(t *testing.T, s *SQLite) Account {
	t.Helper()
	a, _, err := s.EnsureMainAccount(context.Background(), Account{})
	if err != nil {
		t.Fatalf("EnsureMainAccount: %v", err)
	}
	return a
}

func TestMigrationsApplyOnFreshAndMigratedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	c := &clock{t: t0}
	s := openAt(t, path, c)
	if got, want := s.Migrated(), []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("fresh file: migrated %v, want %v", got, want)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != SchemaVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, SchemaVersion())
	}
	var mode string
	if err := s.r.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.r.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	var busy int
	if err := s.w.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 5000 {
		t.Errorf("busy_timeout = %d, %v; want 5000", busy, err)
	}
	main := mustMain(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, c)
	if got := s.Migrated(); len(got) != 0 {
		t.Errorf("migrated file: applied %v again", got)
	}
	var rows int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil || rows != len(migrations) {
		t.Errorf("schema_migrations rows = %d, %v; want %d", rows, err, len(migrations))
	}
	if a, err := s.Account(ctx, main.SID); err != nil || a.AuthToken != main.AuthToken {
		t.Errorf("account after reopen = %+v, %v", a, err)
	}
	// A file from a newer binary is refused, not guessed at.
	if _, err := s.w.ExecContext(ctx, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (99, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(ctx, path, DefaultConfig()); err == nil || !strings.Contains(err.Error(), "newer") {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open of a newer schema: err = %v, want 'newer'", err)
	}
}

func TestMigrationFromVersion1(t *testing.T) {
	// A file written by a binary that knew only step 1 gets step 2.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	saved := migrations
	migrations = migrations[:1]
	applied, err := migrate(ctx, db, t0)
	migrations = saved
	db.Close()
	if err != nil || !slices.Equal(applied, []int{1}) {
		t.Fatalf("v1 migrate = %v, %v", applied, err)
	}
	s := openAt(t, path, &clock{t: t0})
	defer s.Close()
	if got := s.Migrated(); !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("migrated %v, want [2 3]", got)
	}
	if _, err := s.ListSIPDomains(ctx, "AC00000000000000000000000000000000", Page{Size: 1}); err != nil {
		t.Fatalf("step 2 table missing: %v", err)
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		path string
		cfg  Config
	}{
		{"memory", ":memory:", DefaultConfig()},
		{"query", filepath.Join(t.TempDir(), "x.db?mode=ro"), DefaultConfig()},
		{"empty", "", DefaultConfig()},
		{"readers", filepath.Join(t.TempDir(), "x.db"), Config{BusyTimeout: time.Second, ReadConnections: 0, Synchronous: "normal"}},
		{"synchronous", filepath.Join(t.TempDir(), "x.db"), Config{BusyTimeout: time.Second, ReadConnections: 1, Synchronous: "off"}},
		{"missing dir", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), DefaultConfig()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(ctx, c.path, c.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestEnsureMainAccount(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	sid, token := NewSID("AC"), NewAuthToken()
	a, created, err := s.EnsureMainAccount(ctx, Account{SID: sid, AuthToken: token, FriendlyName: "Ops"})
	if err != nil || !created {
		t.Fatalf("first EnsureMainAccount = %v, %v", created, err)
	}
	if a.SID != sid || a.AuthToken != token || !a.IsMain() || a.Status != AccountActive || a.FriendlyName != "Ops" {
		t.Errorf("main account = %+v", a)
	}
	b, created, err := s.EnsureMainAccount(ctx, Account{})
	if err != nil || created || b.SID != sid {
		t.Errorf("second EnsureMainAccount = %+v, %v, %v", b, created, err)
	}
	if _, _, err := s.EnsureMainAccount(ctx, Account{SID: NewSID("AC")}); err == nil {
		t.Error("different configured SID accepted")
	}
	if _, _, err := s.EnsureMainAccount(ctx, Account{AuthToken: NewAuthToken()}); err == nil {
		t.Error("different configured token accepted")
	}
	if _, _, err := s.EnsureMainAccount(ctx, Account{SID: "ACnothex"}); err == nil {
		t.Error("malformed SID accepted")
	}
	fresh, _ := openTest(t)
	if _, _, err := fresh.EnsureMainAccount(ctx, Account{AuthToken: "not:alphanumeric-token"}); err == nil {
		t.Error("non-alphanumeric token accepted")
	}

	gen, _ := openTest(t)
	g, created, err := gen.EnsureMainAccount(ctx, Account{})
	if err != nil || !created || !ValidSID("AC", g.SID) || len(g.AuthToken) != 32 {
		t.Errorf("generated main account = %+v, %v, %v", g, created, err)
	}
}

func TestAccountsFamilyListAndUpdate(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t)
	main := mustMain(t, s)
	other := Account{SID: NewSID("AC"), FriendlyName: "other main", Status: AccountActive, Type: "Full", AuthToken: NewAuthToken(), DateCreated: t0, DateUpdated: t0}
	other.OwnerSID = other.SID
	if err := s.CreateAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	var subs []string
	for i := range 3 {
		c.t = t0.Add(time.Duration(i+1) * time.Minute)
		sub := Account{SID: NewSID("AC"), OwnerSID: main.SID, FriendlyName: fmt.Sprintf("sub %d", i), Status: AccountActive,
			Type: "Full", AuthToken: NewAuthToken(), DateCreated: c.t, DateUpdated: c.t}
		if err := s.CreateAccount(ctx, sub); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub.SID)
	}
	fam, err := s.ListAccounts(ctx, AccountFilter{Family: main.SID}, Page{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := sids(fam, func(a Account) string { return a.SID }); !slices.Equal(got, append([]string{main.SID}, subs...)) {
		t.Errorf("family = %v", got)
	}
	byName, err := s.ListAccounts(ctx, AccountFilter{Family: main.SID, FriendlyName: "sub 1"}, Page{Size: 10})
	if err != nil || len(byName) != 1 || byName[0].SID != subs[1] {
		t.Errorf("by name = %v, %v", byName, err)
	}
	a, _ := s.Account(ctx, subs[0])
	a.Status, a.FriendlyName, a.DateUpdated = AccountSuspended, "renamed", t0.Add(time.Hour)
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Account(ctx, subs[0])
	if got.Status != AccountSuspended || got.FriendlyName != "renamed" || !got.DateUpdated.Equal(a.DateUpdated) || !got.DateCreated.Equal(t0.Add(time.Minute)) {
		t.Errorf("updated = %+v", got)
	}
	susp, _ := s.ListAccounts(ctx, AccountFilter{Family: main.SID, Status: AccountSuspended}, Page{Size: 10})
	if len(susp) != 1 {
		t.Errorf("suspended = %d", len(susp))
	}
	if err := s.UpdateAccount(ctx, Account{SID: NewSID("AC")}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing = %v", err)
	}
	if _, err := s.Account(ctx, NewSID("AC")); !errors.Is(err, ErrNotFound) {
		t.Errorf("get missing = %v", err)
	}
	if err := s.CreateAccount(ctx, other); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate account = %v", err)
	}
}

func sids[T any](xs []T, f func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func newApp(account, name string, at time.Time) Application {
	return Application{SID: NewSID("AP"), AccountSID: account, FriendlyName: name, APIVersion: "2010-04-01",
		VoiceURL: "https://example.com/voice", VoiceMethod: "POST", VoiceFallbackMethod: "POST",
		StatusCallbackMethod: "POST", SMSMethod: "POST", SMSFallbackMethod: "POST", DateCreated: at, DateUpdated: at}
}

func TestApplicationsCRUDAndPaging(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	main := mustMain(t, s)
	var all []string
	for i := range 7 {
		a := newApp(main.SID, fmt.Sprintf("app %d", i%3), t0)
		a.PublicApplicationConnectEnabled = i == 0
		if err := s.CreateApplication(ctx, a); err != nil {
			t.Fatal(err)
		}
		all = append(all, a.SID)
	}
	got, err := s.Application(ctx, all[0])
	if err != nil || !got.PublicApplicationConnectEnabled || got.VoiceURL != "https://example.com/voice" || !got.DateCreated.Equal(t0) {
		t.Fatalf("Application = %+v, %v", got, err)
	}
	// Walk forward by token, then back.
	p1, _ := s.ListApplications(ctx, ApplicationFilter{AccountSID: main.SID}, Page{Size: 3})
	p2, _ := s.ListApplications(ctx, ApplicationFilter{AccountSID: main.SID}, Page{Size: 3, After: p1[2].SID})
	p3, _ := s.ListApplications(ctx, ApplicationFilter{AccountSID: main.SID}, Page{Size: 3, After: p2[2].SID})
	walk := sids(slices.Concat(p1, p2, p3), func(a Application) string { return a.SID })
	if !slices.Equal(walk, all) {
		t.Errorf("forward walk = %v, want %v", walk, all)
	}
	back, _ := s.ListApplications(ctx, ApplicationFilter{AccountSID: main.SID}, Page{Size: 3, Before: p3[0].SID})
	if got := sids(back, func(a Application) string { return a.SID }); !slices.Equal(got, all[3:6]) {
		t.Errorf("back page = %v, want %v", got, all[3:6])
	}
	off, _ := s.ListApplications(ctx, ApplicationFilter{AccountSID: main.SID}, Page{Size: 3, Offset: 6})
	if len(off) != 1 || off[0].SID != all[6] {
		t.Errorf("offset page = %v", off)
	}
	named, _ := s.ListApplications(ctx, ApplicationFilter{AccountSID: main.SID, FriendlyName: "app 1"}, Page{Size: 50})
	if len(named) != 2 {
		t.Errorf("FriendlyName filter: %d apps, want 2", len(named))
	}
	if _, err := s.ListApplications(ctx, ApplicationFilter{AccountSID: main.SID}, Page{Size: 3, After: NewSID("AP")}); !errors.Is(err, ErrBadPageToken) {
		t.Errorf("unknown token = %v", err)
	}
	if empty, err := s.ListApplications(ctx, ApplicationFilter{AccountSID: NewSID("AC")}, Page{Size: 3}); err != nil || len(empty) != 0 {
		t.Errorf("other account's list = %v, %v", empty, err)
	}

	got.FriendlyName, got.VoiceURL, got.DateUpdated = "renamed", "", t0.Add(time.Hour)
	if err := s.UpdateApplication(ctx, got); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Application(ctx, got.SID); u.FriendlyName != "renamed" || u.VoiceURL != "" || !u.DateCreated.Equal(t0) {
		t.Errorf("updated = %+v", u)
	}
	wrong := got
	wrong.AccountSID = NewSID("AC")
	if err := s.UpdateApplication(ctx, wrong); !errors.Is(err, ErrNotFound) {
		t.Errorf("update through another account = %v", err)
	}
	if err := s.DeleteApplication(ctx, NewSID("AC"), got.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete through another account = %v", err)
	}
	if err := s.DeleteApplication(ctx, main.SID, got.SID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Application(ctx, got.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete = %v", err)
	}
	if err := s.CreateApplication(ctx, newApp(NewSID("AC"), "orphan", t0)); !errors.Is(err, ErrNotFound) {
		t.Errorf("application of a missing account = %v", err)
	}
}

func newNumber(account, e164 string) PhoneNumber {
	return PhoneNumber{SID: NewSID("PN"), AccountSID: account, PhoneNumber: e164, FriendlyName: e164,
		APIVersion: "2010-04-01", Capabilities: Capabilities{Voice: true}, VoiceURL: "https://example.com/number",
		VoiceMethod: "POST", VoiceFallbackMethod: "POST", StatusCallbackMethod: "POST", SMSMethod: "POST",
		SMSFallbackMethod: "POST", VoiceReceiveMode: "voice", Origin: "hosted", Status: "in-use", Type: "local",
		DateCreated: t0, DateUpdated: t0}
}

func TestPhoneNumbersAndRoutingPrecedence(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	main := mustMain(t, s)
	app := newApp(main.SID, "ivr", t0)
	app.VoiceURL = "https://example.com/app"
	if err := s.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	n := newNumber(main.SID, "+14155550100")
	if err := s.CreatePhoneNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePhoneNumber(ctx, newNumber(main.SID, "+14155550100")); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate number = %v", err)
	}
	for _, e := range []string{"+14155550111", "+442071234567", "+14155559999"} {
		if err := s.CreatePhoneNumber(ctx, newNumber(main.SID, e)); err != nil {
			t.Fatal(err)
		}
	}
	filter := func(p string) []string {
		got, err := s.ListPhoneNumbers(ctx, PhoneNumberFilter{AccountSID: main.SID, PhoneNumber: p}, Page{Size: 50})
		if err != nil {
			t.Fatal(err)
		}
		return sids(got, func(n PhoneNumber) string { return n.PhoneNumber })
	}
	if got := filter("415555"); len(got) != 3 {
		t.Errorf("partial 415555 = %v", got)
	}
	if got := filter("+1415555011*"); !slices.Equal(got, []string{"+14155550111"}) {
		t.Errorf("wildcard = %v", got)
	}
	if got := filter("%"); len(got) != 0 {
		t.Errorf("LIKE metacharacter matched %v", got)
	}

	route := func() NumberRoute {
		r, err := s.LookupNumber(ctx, "+14155550100")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if v := route().Voice(); v.URL != "https://example.com/number" || v.ApplicationSID != "" {
		t.Errorf("own URL route = %+v", v)
	}
	n.VoiceApplicationSID = app.SID
	if err := s.UpdatePhoneNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	r := route()
	if !r.HasApplication || r.Account.SID != main.SID || r.Account.AuthToken != main.AuthToken {
		t.Errorf("route = %+v", r)
	}
	if v := r.Voice(); v.URL != "https://example.com/app" || v.ApplicationSID != app.SID {
		t.Errorf("application route = %+v", v)
	}
	n.TrunkSID = NewSID("TK")
	if err := s.UpdatePhoneNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	if v := route().Voice(); v.URL != "" || v.TrunkSID != n.TrunkSID {
		t.Errorf("trunk route = %+v", v)
	}
	n.TrunkSID = ""
	if err := s.UpdatePhoneNumber(ctx, n); err != nil {
		t.Fatal(err)
	}
	// Deleting the application clears the number's reference (ON DELETE SET NULL).
	if err := s.DeleteApplication(ctx, main.SID, app.SID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PhoneNumber(ctx, n.SID); got.VoiceApplicationSID != "" {
		t.Errorf("voice_application_sid after app delete = %q", got.VoiceApplicationSID)
	}
	if r := route(); r.HasApplication || r.Voice().URL != "https://example.com/number" {
		t.Errorf("route after app delete = %+v", r)
	}
	if _, err := s.LookupNumber(ctx, "+19999999999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown number = %v", err)
	}
	n.VoiceApplicationSID = NewSID("AP")
	if err := s.UpdatePhoneNumber(ctx, n); !errors.Is(err, ErrNotFound) {
		t.Errorf("reference to a missing application = %v", err)
	}
	if err := s.DeletePhoneNumber(ctx, main.SID, n.SID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePhoneNumber(ctx, main.SID, n.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
}

func newCall(account, status string, start time.Time) Call {
	return Call{SID: NewSID("CA"), AccountSID: account, Direction: "inbound", From: "+14155550100",
		To: "+14155550199", Status: status, StartTime: start, APIVersion: "2010-04-01"}
}

func TestCallsUpsertFilterDelete(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t)
	acct := NewSID("AC")
	day1 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	a := newCall(acct, CallRinging, day1)
	b := newCall(acct, CallCompleted, day2)
	b.To, b.EndTime, b.Duration = "sip:bob@example.com", day2.Add(90*time.Second), sql.Null[int64]{V: 90, Valid: true}
	child := newCall(acct, CallCompleted, day2)
	child.ParentCallSID, child.Direction = b.SID, "outbound-dial"
	if err := s.SaveCalls(ctx, []Call{a, b, child}); err != nil {
		t.Fatal(err)
	}
	c.t = t0.Add(time.Hour)
	a.Status, a.EndTime, a.SIPResponseCode, a.ErrorCode, a.ErrorMessage = CallBusy, day1.Add(time.Minute), 486, 0, ""
	a.QueueTime = sql.Null[int64]{V: 12, Valid: true}
	if err := s.SaveCalls(ctx, []Call{a}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Call(ctx, a.SID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != CallBusy || got.SIPResponseCode != 486 || !got.EndTime.Equal(a.EndTime) || got.Duration.Valid ||
		got.QueueTime.V != 12 || !got.DateCreated.Equal(t0) || !got.DateUpdated.Equal(t0.Add(time.Hour)) {
		t.Errorf("upserted call = %+v", got)
	}
	list := func(f CallFilter) []string {
		f.AccountSID = acct
		calls, err := s.ListCalls(ctx, f, Page{Size: 50})
		if err != nil {
			t.Fatal(err)
		}
		return sids(calls, func(c Call) string { return c.SID })
	}
	cases := []struct {
		name string
		f    CallFilter
		want []string
	}{
		{"all newest first", CallFilter{}, []string{child.SID, b.SID, a.SID}},
		{"to", CallFilter{To: "sip:bob@example.com"}, []string{b.SID}},
		{"status", CallFilter{Status: CallBusy}, []string{a.SID}},
		{"parent", CallFilter{ParentCallSID: b.SID}, []string{child.SID}},
		{"start on day1", CallFilter{StartTime: TimeRange{From: day1.Truncate(24 * time.Hour), To: day1.Truncate(24 * time.Hour).Add(24 * time.Hour)}}, []string{a.SID}},
		{"start after day2", CallFilter{StartTime: TimeRange{From: day2.Truncate(24 * time.Hour)}}, []string{child.SID, b.SID}},
		{"end before day2", CallFilter{EndTime: TimeRange{To: day2.Truncate(24 * time.Hour)}}, []string{a.SID}},
	}
	for _, tc := range cases {
		if got := list(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := s.DeleteCall(ctx, NewSID("AC"), a.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete through another account = %v", err)
	}
	if err := s.DeleteCall(ctx, acct, a.SID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Call(ctx, a.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete = %v", err)
	}
}

func TestCrashRecoveryMarksLiveCallsFailed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	c := &clock{t: t0}
	s := openAt(t, path, c)
	acct := NewSID("AC")
	var live []Call
	for _, st := range []string{CallQueued, CallInitiated, CallRinging, CallInProgress} {
		live = append(live, newCall(acct, st, t0))
	}
	done := newCall(acct, CallCompleted, t0)
	done.EndTime = t0.Add(time.Minute)
	if err := s.SaveCalls(ctx, append(slices.Clone(live), done)); err != nil {
		t.Fatal(err)
	}
	s.Close() // the "crash": nothing marks the calls ended

	c.t = t0.Add(time.Hour)
	s = openAt(t, path, c)
	defer s.Close()
	if s.Recovered() != int64(len(live)) {
		t.Errorf("Recovered = %d, want %d", s.Recovered(), len(live))
	}
	for _, l := range live {
		got, _ := s.Call(ctx, l.SID)
		if got.Status != CallFailed || !got.EndTime.Equal(c.t) {
			t.Errorf("%s (was %s): status %s end %v", l.SID, l.Status, got.Status, got.EndTime)
		}
	}
	if got, _ := s.Call(ctx, done.SID); got.Status != CallCompleted || !got.EndTime.Equal(t0.Add(time.Minute)) {
		t.Errorf("finished call changed: %+v", got)
	}
}

func TestSIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := NewSID("CA")
		if !ValidSID("CA", s) || s[:2] != "CA" || strings.ToLower(s[2:]) != s[2:] {
			t.Fatalf("NewSID = %q", s)
		}
		if seen[s] {
			t.Fatalf("repeated SID %s", s)
		}
		seen[s] = true
	}
	for _, bad := range []string{"", "CA", "AP" + strings.Repeat("a", 32), "CA" + strings.Repeat("g", 32), "CA" + strings.Repeat("a", 33)} {
		if ValidSID("CA", bad) {
			t.Errorf("ValidSID(%q) = true", bad)
		}
	}
	if !ValidSID("CA", "CA"+strings.Repeat("F", 32)) {
		t.Error("upper-case hex refused")
	}
}

// BenchmarkLookupNumber is the call path's per-INVITE lookup: number,
// account and voice application, from the read cache and from SQLite.
func BenchmarkLookupNumber(b *testing.B) {
	for _, ttl := range []time.Duration{DefaultConfig().CacheTTL, 0} {
		name := "cached"
		if ttl == 0 {
			name = "sqlite"
		}
		b.Run(name, func(b *testing.B) { benchmarkLookupNumber(b, ttl) })
	}
}

func benchmarkLookupNumber(b *testing.B, ttl time.Duration) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.CacheTTL = ttl
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	main, _, err := s.EnsureMainAccount(ctx, Account{})
	if err != nil {
		b.Fatal(err)
	}
	app := newApp(main.SID, "ivr", t0)
	if err := s.CreateApplication(ctx, app); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		n := newNumber(main.SID, fmt.Sprintf("+1415555%04d", i))
		n.VoiceApplicationSID = app.SID
		if err := s.CreatePhoneNumber(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r, err := s.LookupNumber(ctx, fmt.Sprintf("+1415555%04d", i%1000))
		if err != nil || !r.HasApplication {
			b.Fatal(r, err)
		}
	}
}

// TestSaveCallsNarrowUpdate covers the status-change path of SaveCalls: a
// live call's row written earlier is updated without its fixed columns,
// and the record read back is the last one saved in every case, including
// a row that disappeared behind the store's back and a record whose
// account changed.
func TestSaveCallsNarrowUpdate(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	acct := NewSID("AC")
	save := func(c Call) {
		t.Helper()
		if err := s.SaveCalls(ctx, []Call{c}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Call(ctx, c.SID)
		if err != nil {
			t.Fatal(err)
		}
		got.DateCreated, got.DateUpdated = time.Time{}, time.Time{}
		c.DateCreated, c.DateUpdated = time.Time{}, time.Time{}
		if got != c {
			t.Errorf("read back\n%+v\nwant\n%+v", got, c)
		}
		// The next save of a live call takes the narrow update.
		if CallLive(c.Status) && !s.live.plan(&c) {
			t.Errorf("live call %s (%s) not tracked for the narrow update", c.SID, c.Status)
		}
	}
	tests := []struct {
		name   string
		change func(c *Call)
		before func(c Call) // done to the database before the save
	}{
		{"ringing", func(c *Call) { c.Status = CallRinging }, nil},
		{"answered", func(c *Call) {
			c.Status, c.SIPCallID, c.SIPResponseCode = CallInProgress, "abc@127.0.0.1", 200
		}, nil},
		{"row deleted behind the store", func(c *Call) { c.ErrorCode, c.ErrorMessage = 12200, "schema warning" },
			func(c Call) {
				if _, err := s.w.ExecContext(ctx, `DELETE FROM calls WHERE sid = ?`, c.SID); err != nil {
					t.Fatal(err)
				}
			}},
		{"handed to another account", func(c *Call) { c.AccountSID, c.ParentCallSID = NewSID("AC"), NewSID("CA") }, nil},
		{"completed", func(c *Call) {
			c.Status, c.EndTime = CallCompleted, t0.Add(time.Minute)
			c.Duration = sql.Null[int64]{V: 60, Valid: true}
		}, nil},
	}
	c := newCall(acct, CallInitiated, t0)
	save(c)
	for _, tt := range tests {
		if tt.before != nil {
			tt.before(c)
		}
		tt.change(&c)
		t.Run(tt.name, func(t *testing.T) { save(c) })
	}
	if n := len(s.live.m); n != 0 {
		t.Errorf("%d live rows tracked after the call completed", n)
	}
}
