package webhook

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDefaultConfigIsTwiliosAndValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig invalid: %v", err)
	}
	ov := c.overrides()
	want := Overrides{Connect: 5 * time.Second, Read: 15 * time.Second, Total: 15 * time.Second, Retries: 1, RetryOn: RetryConnect}
	if ov != want {
		t.Errorf("defaults %+v, want %+v", ov, want)
	}
	if c.HardTimeout != 15*time.Second || c.MaxBodySize != 64*1024 || c.MaxRedirects != 10 || c.UserAgent != "TwilioProxy/1.1" {
		t.Errorf("defaults %+v", c)
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		key string
		mod func(*Config)
	}{
		{"connect_timeout", func(c *Config) { c.ConnectTimeout = 50 * time.Millisecond }},
		{"connect_timeout", func(c *Config) { c.ConnectTimeout = 11 * time.Second }},
		{"read_timeout", func(c *Config) { c.ReadTimeout = 16 * time.Second }},
		{"total_timeout", func(c *Config) { c.TotalTimeout = 0 }},
		{"hard_timeout", func(c *Config) { c.HardTimeout = time.Minute }},
		{"retries", func(c *Config) { c.Retries = 6 }},
		{"retry_on", func(c *Config) { c.RetryOn = "ct,sometimes" }},
		{"max_conns_per_host", func(c *Config) { c.MaxConnsPerHost = 0 }},
		{"idle_conn_timeout", func(c *Config) { c.IdleConnTimeout = 0 }},
		{"max_body_size", func(c *Config) { c.MaxBodySize = 10 }},
		{"max_redirects", func(c *Config) { c.MaxRedirects = -1 }},
		{"user_agent", func(c *Config) { c.UserAgent = "" }},
		{"user_agent", func(c *Config) { c.UserAgent = "a\r\nX-Evil: 1" }},
		{"callback_queue_size", func(c *Config) { c.CallbackQueueSize = 0 }},
		{"callback_workers", func(c *Config) { c.CallbackWorkers = 0 }},
		{"callback_drain_timeout", func(c *Config) { c.CallbackDrainTimeout = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tt.key+": ") {
				t.Errorf("Validate() = %v, want an error starting %q", err, tt.key+": ")
			}
			if _, nerr := New(c); nerr == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

// The configured defaults apply to URLs without a fragment, and the
// configured user agent is sent.
func TestConfigDefaultsApplied(t *testing.T) {
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ hit, n int) {
		if n == 1 {
			http.Error(w, "x", 503)
			return
		}
		twiml(w)
	})
	c := newClient(t, func(cfg *Config) {
		cfg.RetryOn = "5xx"
		cfg.UserAgent = "tandem/1"
	})
	if _, err := c.Fetch(bg, Request{URL: srv.URL}); err != nil {
		t.Fatalf("Fetch: %v (retry_on=5xx should have retried)", err)
	}
	if ua := rec.all()[0].Header.Get("User-Agent"); ua != "tandem/1" {
		t.Errorf("User-Agent %q", ua)
	}
}

// Idle connections are closed after IdleConnTimeout by the injected clock;
// the next request dials again.
func TestIdleConnectionsEvictedByClock(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) { twiml(w) })
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newClient(t, nil, WithClock(clock))
	fetch := func() {
		t.Helper()
		if _, err := c.Fetch(bg, Request{URL: srv.URL}); err != nil {
			t.Fatal(err)
		}
	}
	fetch()
	advance(10 * time.Second)
	c.evictIdle(clock().Add(-c.cfg.IdleConnTimeout))
	fetch()
	if n := c.Stats().ConnsOpened; n != 1 {
		t.Fatalf("ConnsOpened %d after 10s idle, want 1 (kept)", n)
	}
	advance(31 * time.Second)
	c.evictIdle(clock().Add(-c.cfg.IdleConnTimeout))
	fetch()
	if n := c.Stats().ConnsOpened; n != 2 {
		t.Errorf("ConnsOpened %d after 31s idle, want 2 (evicted, redialed)", n)
	}
	// Without the cleaner pass, get() itself refuses a connection idle too long.
	advance(31 * time.Second)
	fetch()
	if n := c.Stats().ConnsOpened; n != 3 {
		t.Errorf("ConnsOpened %d, want 3", n)
	}
}

func TestFetchAfterCloseFails(t *testing.T) {
	c, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	_ = c.Close() // idempotent
	_, err = c.Fetch(bg, Request{URL: "http://127.0.0.1:1/"})
	e := asError(t, err, CodeRetrievalFailure)
	if e.FallbackEligible() || e.Reason() != ReasonClosed {
		t.Errorf("error %v eligible=%v reason=%q", e, e.FallbackEligible(), e.Reason())
	}
}
