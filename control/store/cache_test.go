package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestReadCacheSeesEveryWrite checks that a cached read never outlives a
// write made through the same store: each step changes a row the call path
// reads (or creates a row whose absence was cached) and reads it back at
// once, well inside the TTL.
func TestReadCacheSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	main := mustMain(t, s)
	app := newApp(main.SID, "ivr", t0)
	app.VoiceURL = "https://example.com/app/v1"
	if err := s.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	const e164 = "+14155550100"
	// Absent, then created: the cached not-found must not hide it.
	if _, err := s.LookupNumber(ctx, e164); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup before create: %v, want ErrNotFound", err)
	}
	n := newNumber(main.SID, e164)
	n.VoiceApplicationSID = app.SID
	if err := s.CreatePhoneNumber(ctx, n); err != nil {
		t.Fatal(err)
	}

	voiceURL := func() string {
		t.Helper()
		r, err := s.LookupNumber(ctx, e164)
		if err != nil {
			t.Fatalf("lookup: %v", err)
		}
		return r.Voice().URL
	}
	steps := []struct {
		name  string
		write func() error
		want  string
	}{
		{"created", func() error { return nil }, "https://example.com/app/v1"},
		{"application updated", func() error {
			app.VoiceURL = "https://example.com/app/v2"
			return s.UpdateApplication(ctx, app)
		}, "https://example.com/app/v2"},
		{"number moved off the application", func() error {
			n.VoiceApplicationSID = ""
			return s.UpdatePhoneNumber(ctx, n)
		}, "https://example.com/number"},
		{"number back on the application", func() error {
			n.VoiceApplicationSID = app.SID
			return s.UpdatePhoneNumber(ctx, n)
		}, "https://example.com/app/v2"},
	}
	for _, st := range steps {
		voiceURL() // warm the cache with the value before the write
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := voiceURL(); got != st.want {
			t.Errorf("%s: voice URL %q, want %q", st.name, got, st.want)
		}
	}
	if err := s.DeletePhoneNumber(ctx, main.SID, n.SID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupNumber(ctx, e164); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup after delete: %v, want ErrNotFound", err)
	}

	// Account status (what suspends an account's calls).
	if a, err := s.Account(ctx, main.SID); err != nil || a.Status != AccountActive {
		t.Fatalf("account: %+v %v", a, err)
	}
	main.Status, main.DateUpdated = AccountSuspended, t0.Add(time.Hour)
	if err := s.UpdateAccount(ctx, main); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Account(ctx, main.SID); err != nil || a.Status != AccountSuspended {
		t.Errorf("account after suspend: status %q %v, want suspended", a.Status, err)
	}

	// A SIP domain looked up by name before it exists.
	if _, err := s.SIPDomainByName(ctx, "office.example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("domain before create: %v", err)
	}
	d := SIPDomain{SID: NewSID("SD"), AccountSID: main.SID, APIVersion: "2010-04-01", DomainName: "office.example.com",
		VoiceMethod: "POST", VoiceFallbackMethod: "POST", VoiceStatusCallbackMethod: "POST", AuthType: "",
		DateCreated: t0, DateUpdated: t0}
	if err := s.CreateSIPDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SIPDomainByName(ctx, "Office.Example.com"); err != nil || got.SID != d.SID {
		t.Errorf("domain after create: %+v %v", got, err)
	}

	st := s.CacheStats()
	if st.Hits == 0 || st.Misses == 0 || st.Entries == 0 {
		t.Errorf("cache stats %+v: want hits, misses and entries", st)
	}
}

// TestReadCacheTTLBoundsOutsideWrites covers a write the cache cannot see:
// another process (here a second store) changing the same file. The first
// store may answer from its cache until the TTL has passed, and must see the
// write after it.
func TestReadCacheTTLBoundsOutsideWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	cfg := DefaultConfig()
	cfg.CacheTTL = 50 * time.Millisecond
	a, err := Open(ctx, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	main := mustMain(t, a)
	app := newApp(main.SID, "ivr", t0)
	app.VoiceURL = "https://example.com/v1"
	if err := a.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Application(ctx, app.SID); err != nil || got.VoiceURL != app.VoiceURL {
		t.Fatalf("application: %+v %v", got, err)
	}
	app.VoiceURL = "https://example.com/v2"
	if err := b.UpdateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	time.Sleep(cfg.CacheTTL + 10*time.Millisecond)
	if got, err := a.Application(ctx, app.SID); err != nil || got.VoiceURL != "https://example.com/v2" {
		t.Errorf("after the TTL: %q %v, want the other store's write", got.VoiceURL, err)
	}
}

// TestReadCacheOff checks cache_ttl 0: every read goes to SQLite.
func TestReadCacheOff(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.CacheTTL = 0
	s, err := Open(ctx, filepath.Join(t.TempDir(), "tandem.db"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	main := mustMain(t, s)
	for range 3 {
		if _, err := s.Account(ctx, main.SID); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.CacheStats(); st != (CacheStats{}) {
		t.Errorf("cache stats with the cache off: %+v", st)
	}
}
