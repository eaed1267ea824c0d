package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func newNote(account, call string, log, code int, at time.Time) Notification {
	return Notification{AccountSID: account, CallSID: call, APIVersion: "2010-04-01", ErrorCode: code, Log: log,
		MessageText: "Msg=warning&LineNumber=3", MessageDate: at, RequestMethod: "POST",
		RequestURL: "https://example.com/answer", RequestVariables: "CallSid=" + call,
		ResponseBody: "<Response><Say foo=\"1\">hi</Say></Response>", ResponseHeaders: "Content-Type=text%2Fxml"}
}

func TestMigrationFromVersion2AddsNotifications(t *testing.T) {
	// A file written by a binary that knew steps 1 and 2 keeps its calls and
	// gets step 3.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	saved := migrations
	migrations = migrations[:2]
	applied, err := migrate(ctx, db, t0)
	migrations = saved
	if err != nil || !slices.Equal(applied, []int{1, 2}) {
		db.Close()
		t.Fatalf("v2 migrate = %v, %v", applied, err)
	}
	acct := NewSID("AC")
	call := newCall(acct, CallCompleted, t0)
	if _, err := db.ExecContext(ctx, `INSERT INTO calls(`+callCols+`) VALUES (?,?,'','inbound','+1','+2','','','completed',
		NULL,NULL,NULL,'','','','',0,0,'','','2010-04-01',NULL,'','',0,0)`, call.SID, acct); err != nil {
		db.Close()
		t.Fatal(err)
	}
	db.Close()
	s := openAt(t, path, &clock{t: t0})
	defer s.Close()
	if got := s.Migrated(); !slices.Equal(got, []int{3}) {
		t.Fatalf("migrated %v, want [3]", got)
	}
	if _, err := s.Call(ctx, call.SID); err != nil {
		t.Fatalf("call written before step 3: %v", err)
	}
	n := newNote(acct, call.SID, NotificationWarning, 12200, t0)
	if err := s.SaveNotifications(ctx, []Notification{n}); err != nil {
		t.Fatalf("step 3 table: %v", err)
	}
}

func TestNotificationsSaveFetchListFilterDelete(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t)
	acct, other := NewSID("AC"), NewSID("AC")
	day1 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	call1, call2 := newCall(acct, CallCompleted, day1), newCall(acct, CallCompleted, day2)
	warn1 := newNote(acct, call1.SID, NotificationWarning, 12200, day1)
	warn1.SID = NewSID("NO")
	err1 := newNote(acct, call1.SID, NotificationError, 11200, day1.Add(time.Minute))
	err1.MoreInfo, err1.ResponseHeaders = "", "" // defaults, and may be empty
	warn2 := newNote(acct, call2.SID, NotificationWarning, 13221, day2)
	acctLevel := newNote(acct, "", NotificationError, 21220, time.Time{}) // no call; dated when written
	foreign := newNote(other, call1.SID, NotificationError, 11200, day1)  // same call SID, other account
	warn2.SID = NewSID("NO")
	written := day2.Add(48 * time.Hour)
	c.t = written
	if err := s.SaveRecords(ctx, []Call{call1, call2}, []Notification{warn1, err1, warn2, acctLevel, foreign}); err != nil {
		t.Fatal(err)
	}
	// Saving warn1 again (a retried batch) keeps the first save.
	again := warn1
	again.MessageText = "changed"
	if err := s.SaveNotifications(ctx, []Notification{again}); err != nil {
		t.Fatal(err)
	}

	got, err := s.Notification(ctx, warn1.SID)
	if err != nil {
		t.Fatal(err)
	}
	want := warn1
	want.MoreInfo = "https://www.twilio.com/docs/errors/12200"
	want.DateCreated, want.DateUpdated = written, written
	if !got.MessageDate.Equal(want.MessageDate) || !got.DateCreated.Equal(want.DateCreated) || !got.DateUpdated.Equal(want.DateUpdated) {
		t.Errorf("dates %v %v %v, want %v %v %v", got.MessageDate, got.DateCreated, got.DateUpdated,
			want.MessageDate, want.DateCreated, want.DateUpdated)
	}
	got.MessageDate, got.DateCreated, got.DateUpdated = want.MessageDate, want.DateCreated, want.DateUpdated
	if got != want {
		t.Errorf("fetched\n %+v\nwant\n %+v", got, want)
	}

	list := func(f NotificationFilter, p Page) []Notification {
		t.Helper()
		if f.AccountSID == "" {
			f.AccountSID = acct
		}
		if p.Size == 0 {
			p.Size = 50
		}
		ns, err := s.ListNotifications(ctx, f, p)
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}
	codes := func(ns []Notification) []int {
		out := make([]int, len(ns))
		for i, n := range ns {
			out[i] = n.ErrorCode
		}
		return out
	}
	warning, errLevel := NotificationWarning, NotificationError
	dayOf := func(d time.Time) TimeRange {
		d = d.Truncate(24 * time.Hour)
		return TimeRange{From: d, To: d.Add(24 * time.Hour)}
	}
	cases := []struct {
		name string
		f    NotificationFilter
		want []int
	}{
		{"account, newest first", NotificationFilter{}, []int{21220, 13221, 11200, 12200}},
		{"other account", NotificationFilter{AccountSID: other}, []int{11200}},
		{"call", NotificationFilter{CallSID: call1.SID}, []int{11200, 12200}},
		{"call of another account", NotificationFilter{CallSID: call1.SID, AccountSID: NewSID("AC")}, []int{}},
		{"warnings", NotificationFilter{Log: &warning}, []int{13221, 12200}},
		{"errors of a call", NotificationFilter{Log: &errLevel, CallSID: call1.SID}, []int{11200}},
		{"MessageDate a day", NotificationFilter{MessageDate: dayOf(day1)}, []int{11200, 12200}},
		{"MessageDate after", NotificationFilter{MessageDate: TimeRange{From: day1.Add(time.Second)}}, []int{21220, 13221, 11200}},
		{"MessageDate before", NotificationFilter{MessageDate: TimeRange{To: day2}}, []int{11200, 12200}},
	}
	for _, tc := range cases {
		if got := codes(list(tc.f, Page{})); !slices.Equal(got, tc.want) {
			t.Errorf("%s: codes %v, want %v", tc.name, got, tc.want)
		}
	}

	all := list(NotificationFilter{}, Page{})
	for _, n := range all {
		// The list leaves the request and response data to the instance.
		if n.RequestVariables != "" || n.ResponseBody != "" || n.ResponseHeaders != "" || n.RequestURL == "" {
			t.Errorf("listed %s carries %q %q %q (url %q)", n.SID, n.RequestVariables, n.ResponseBody, n.ResponseHeaders, n.RequestURL)
		}
		if n.MoreInfo != MoreInfoURL(n.ErrorCode) || !ValidSID("NO", n.SID) {
			t.Errorf("listed %+v", n)
		}
	}
	if n := all[0]; !n.MessageDate.Equal(written) || n.CallSID != "" {
		t.Errorf("account-level notification dated %v (call %q), want the write time %v", n.MessageDate, n.CallSID, written)
	}

	// Paging by token, both ways, as the API does.
	p1 := list(NotificationFilter{}, Page{Size: 2})
	p2 := list(NotificationFilter{}, Page{Size: 2, After: p1[1].SID})
	back := list(NotificationFilter{}, Page{Size: 2, Before: p2[0].SID})
	if !slices.Equal(codes(p1), []int{21220, 13221}) || !slices.Equal(codes(p2), []int{11200, 12200}) || !slices.Equal(codes(back), codes(p1)) {
		t.Errorf("pages %v %v, back %v", codes(p1), codes(p2), codes(back))
	}
	if _, err := s.ListNotifications(ctx, NotificationFilter{AccountSID: other}, Page{Size: 2, After: p1[0].SID}); !errors.Is(err, ErrBadPageToken) {
		t.Errorf("another account's SID as page token = %v", err)
	}

	if err := s.DeleteNotification(ctx, other, warn2.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete through another account = %v", err)
	}
	if err := s.DeleteNotification(ctx, acct, warn2.SID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Notification(ctx, warn2.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete = %v", err)
	}
	// Deleting a call deletes its notifications, not the account's others
	// nor another account's.
	if err := s.DeleteCall(ctx, acct, call1.SID); err != nil {
		t.Fatal(err)
	}
	if got := codes(list(NotificationFilter{}, Page{})); !slices.Equal(got, []int{21220}) {
		t.Errorf("after deleting the call: %v, want [21220]", got)
	}
	if got := codes(list(NotificationFilter{AccountSID: other}, Page{})); !slices.Equal(got, []int{11200}) {
		t.Errorf("other account after deleting the call: %v", got)
	}
	if err := s.DeleteCall(ctx, acct, call1.SID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
}

func TestNotificationValidationAndCleaning(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	acct, call := NewSID("AC"), NewSID("CA")
	bad := []struct {
		name string
		edit func(*Notification)
	}{
		{"no account", func(n *Notification) { n.AccountSID = "" }},
		{"account SID of another kind", func(n *Notification) { n.AccountSID = NewSID("AP") }},
		{"bad call SID", func(n *Notification) { n.CallSID = "CA123" }},
		{"bad own SID", func(n *Notification) { n.SID = NewSID("CA") }},
		{"log level 2", func(n *Notification) { n.Log = 2 }},
		{"log level -1", func(n *Notification) { n.Log = -1 }},
		{"no error code", func(n *Notification) { n.ErrorCode = 0 }},
	}
	good := newNote(acct, call, NotificationWarning, 12200, t0)
	for _, b := range bad {
		n := good
		b.edit(&n)
		if err := n.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v", b.name, err)
		}
		// One bad notification refuses the whole batch: nothing is written.
		if err := s.SaveRecords(ctx, []Call{newCall(acct, CallCompleted, t0)}, []Notification{good, n}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: SaveRecords = %v", b.name, err)
		}
	}
	if ns, _ := s.ListNotifications(ctx, NotificationFilter{AccountSID: acct}, Page{Size: 10}); len(ns) != 0 {
		t.Errorf("a refused batch wrote %d notifications", len(ns))
	}
	if cs, _ := s.ListCalls(ctx, CallFilter{AccountSID: acct}, Page{Size: 10}); len(cs) != 0 {
		t.Errorf("a refused batch wrote %d calls", len(cs))
	}

	// Untrusted webhook bytes: cut to the bound at a rune boundary, invalid
	// UTF-8 replaced.
	long := good
	long.SID = NewSID("NO")
	long.ResponseBody = strings.Repeat("é", MaxNotificationText) // 2 bytes each
	long.RequestVariables = "a=\xff\xfe"
	unnamed := good // an empty SID is filled in the store's copy
	batch := []Notification{long, unnamed}
	if err := s.SaveNotifications(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if batch[0].ResponseBody != long.ResponseBody || batch[1].SID != "" {
		t.Error("SaveNotifications changed the caller's slice")
	}
	if ns, _ := s.ListNotifications(ctx, NotificationFilter{AccountSID: acct}, Page{Size: 10}); len(ns) != 2 || !ValidSID("NO", ns[0].SID) {
		t.Errorf("saved %+v, want 2 with SIDs", ns)
	}
	got, err := s.Notification(ctx, long.SID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ResponseBody) != MaxNotificationText || !utf8.ValidString(got.ResponseBody) {
		t.Errorf("response body: %d bytes, valid %v", len(got.ResponseBody), utf8.ValidString(got.ResponseBody))
	}
	if got.RequestVariables != "a=\uFFFD" {
		t.Errorf("request variables = %q", got.RequestVariables)
	}
}
