package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"tandem/control"
	"tandem/control/store"
	"tandem/rtpengine"
	"tandem/sipstack"
	callswitch "tandem/switch"
	"tandem/switch/webhook"
)

// Config is the whole daemon configuration: one section per component.
// configs/tandem.yaml documents every key with its default, and a test keeps
// that file equal to DefaultConfig.
type Config struct {
	// DataDir holds the SQLite store (created on first start).
	DataDir  string         `yaml:"data_dir"`
	Log      LogConfig      `yaml:"log"`
	Admin    AdminConfig    `yaml:"admin"`
	Runtime  RuntimeConfig  `yaml:"runtime"`
	Shutdown ShutdownConfig `yaml:"shutdown"`
	// Store is the SQLite store and its call-record writer.
	Store StoreConfig `yaml:"store"`
	// API is the REST control API.
	API control.Config `yaml:"api"`
	// SIP is the SIP stack: listeners, trunks, admission, registrar.
	SIP sipstack.Config `yaml:"sip"`
	// Media is the RTP core.
	Media rtpengine.Config `yaml:"media"`
	// Webhook is the HTTP client for applications.
	Webhook webhook.Config `yaml:"webhook"`
	// Calls is call control (the TwiML interpreter).
	Calls callswitch.Config `yaml:"calls"`
}

// StoreConfig is the SQLite store's section: its own keys plus the batching
// writer of call records.
type StoreConfig struct {
	store.Config `yaml:",inline"`
	CallWriter   store.CallWriterConfig `yaml:"call_writer"`
}

// LogConfig selects the zap encoder and level.
type LogConfig struct {
	Format string `yaml:"format"` // json | console
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// AdminConfig is the admin listener: /health, /ready, /metrics, /debug/pprof.
type AdminConfig struct {
	Listen string `yaml:"listen"`
	Pprof  bool   `yaml:"pprof"`
}

// RuntimeConfig tunes the Go runtime. ARCHITECTURE.md: memory grows with the
// call rate (finished SIP transactions are kept ~32 s), so budget memory with a
// soft limit rather than let the collector run on its default pacing alone.
type RuntimeConfig struct {
	// MemoryLimit is a soft limit like GOMEMLIMIT ("1GiB", "512MiB"); empty
	// leaves the runtime default (or the GOMEMLIMIT environment variable).
	MemoryLimit string `yaml:"memory_limit"`
	// GCPercent is like GOGC; 0 leaves the runtime default.
	GCPercent int `yaml:"gc_percent"`
	// SteadySysmon keeps the Go runtime's monitor thread (sysmon) on its
	// backed-off polling, at most every 10 ms while it has nothing to do,
	// instead of letting it sleep whenever no goroutine runs. A sleeping
	// sysmon is woken by the next system call and then polls every 20 µs
	// for a while, so a daemon that goes idle between packets pays for
	// sysmon's wake-ups, nanosleeps and context switches on every busy
	// spell: ~20 % of the CPU per call at 500 calls/s (bench/sip). tandem
	// gets this by re-executing itself once at start with
	// GODEBUG=schedtrace=2147483647, which also prints a one-line scheduler
	// summary on stderr at most once every 24.8 days (and a scheduler dump
	// if the runtime ever crashes). A schedtrace already in GODEBUG is left
	// as it is. The price: a system call that blocks (a slow disk under
	// the store) may hold its P up to ~10 ms before the runtime lets other
	// goroutines use it, which matters only with GOMAXPROCS 1.
	SteadySysmon bool `yaml:"steady_sysmon"`
}

// ShutdownConfig bounds how long SIGTERM waits.
type ShutdownConfig struct {
	// HTTPTimeout bounds how long in-flight API requests may take to finish.
	HTTPTimeout time.Duration `yaml:"http_timeout"`
	// HTTPGrace is how long, after SIGTERM, requests already sent on idle
	// keep-alive connections may still arrive (each answer then closes its
	// connection); closing those connections at once would reset them.
	HTTPGrace time.Duration `yaml:"http_grace"`
	// DrainTimeout bounds how long live calls may continue after SIGTERM.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// DefaultConfig is what `tandem` runs with when given no file.
func DefaultConfig() Config {
	c := Config{
		DataDir:  "./var",
		Log:      LogConfig{Format: "json", Level: "info"},
		Admin:    AdminConfig{Listen: "127.0.0.1:9090", Pprof: true},
		Runtime:  RuntimeConfig{SteadySysmon: true},
		Shutdown: ShutdownConfig{HTTPTimeout: 10 * time.Second, HTTPGrace: 500 * time.Millisecond, DrainTimeout: 60 * time.Second},
		Store:    StoreConfig{Config: store.DefaultConfig(), CallWriter: store.DefaultCallWriterConfig()},
		API:      control.DefaultConfig(),
		SIP:      sipstack.DefaultConfig(),
		Media:    rtpengine.DefaultConfig(),
		Webhook:  webhook.DefaultConfig(),
		Calls:    callswitch.DefaultConfig(),
	}
	// Registered clients are challenged with one digest realm, as Twilio
	// challenges with "sip.twilio.com"; credentials are hashed for it.
	if c.SIP.Registrar.Realm == "" {
		c.SIP.Registrar.Realm = "tandem"
	}
	return c
}

// LoadConfig reads a YAML file on top of the defaults and validates it. An
// empty path means the embedded defaults.
func LoadConfig(path string, lookupEnv func(string) (string, bool)) (Config, error) {
	cfg := DefaultConfig()
	if path != "" {
		data, err := readConfigFile(path)
		if err != nil {
			return cfg, err
		}
		if err := decodeStrict(data, &cfg, lookupEnv); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		if path == "" {
			path = "(defaults)"
		}
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// section pairs a key prefix with a component's own validation.
type section struct {
	name     string
	validate func() error
}

// sections lists the components' own Validate methods; their errors name keys
// relative to the section and get the section's name in front.
func (c Config) sections() []section {
	return []section{
		{"store", c.Store.Config.Validate},
		{"store.call_writer", c.Store.CallWriter.Validate},
		{"api", c.API.Validate},
		{"sip", c.SIP.Validate},
		{"media", c.Media.Validate},
		{"webhook", c.Webhook.Validate},
		{"calls", c.Calls.Validate},
	}
}

// Validate checks every section (naming the key that is wrong) and the
// contradictions between sections.
func (c Config) Validate() error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, prefixErrors(key, err)...)
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		add("data_dir", errors.New("must not be empty"))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		add("log.format", fmt.Errorf("must be json or console (got %q)", c.Log.Format))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", fmt.Errorf("must be debug, info, warn or error (got %q)", c.Log.Level))
	}
	if c.Admin.Listen != "" {
		add("admin.listen", checkHostPort(c.Admin.Listen))
	}
	if c.Runtime.MemoryLimit != "" {
		if _, err := parseBytes(c.Runtime.MemoryLimit); err != nil {
			add("runtime.memory_limit", err)
		}
	}
	if c.Runtime.GCPercent < -1 {
		add("runtime.gc_percent", fmt.Errorf("must be -1 (off), 0 (default) or positive (got %d)", c.Runtime.GCPercent))
	}
	if c.Shutdown.HTTPTimeout <= 0 {
		add("shutdown.http_timeout", fmt.Errorf("must be positive (got %s)", c.Shutdown.HTTPTimeout))
	}
	if c.Shutdown.HTTPGrace < 0 || c.Shutdown.HTTPGrace > c.Shutdown.HTTPTimeout {
		add("shutdown.http_grace", fmt.Errorf("must be between 0 and shutdown.http_timeout (got %s)", c.Shutdown.HTTPGrace))
	}
	if c.Shutdown.DrainTimeout < 0 {
		add("shutdown.drain_timeout", fmt.Errorf("must not be negative (got %s)", c.Shutdown.DrainTimeout))
	}
	for _, s := range c.sections() {
		add(s.name, s.validate())
	}
	errs = append(errs, c.contradictions()...)
	return errors.Join(errs...)
}

// listeners names every TCP address the daemon binds, for the
// "two sections on one address" contradiction.
func (c Config) listeners() map[string]string {
	return map[string]string{"admin.listen": c.Admin.Listen, "api.listen": c.API.Listen}
}

func (c Config) contradictions() []error {
	var errs []error
	seen := map[string]string{}
	ls := c.listeners()
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		addr := ls[k]
		if addr == "" || strings.HasSuffix(addr, ":0") {
			continue // off, or a port the kernel picks
		}
		if other, dup := seen[addr]; dup {
			errs = append(errs, fmt.Errorf("%s: %s is also used by %s", k, addr, other))
			continue
		}
		seen[addr] = k
	}
	return errs
}

// prefixErrors puts "key." in front of every error a section returned
// (errors.Join'ed errors are split so that each line names its key).
func prefixErrors(key string, err error) []error {
	var out []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, prefixErrors(key, e)...)
		}
		return out
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		for _, line := range strings.Split(msg, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, fmt.Errorf("%s.%s", key, line))
			}
		}
		return out
	}
	if strings.HasPrefix(msg, key) {
		return []error{err}
	}
	sep := "."
	if !looksLikeKey(msg) {
		sep = ": "
	}
	return []error{fmt.Errorf("%s%s%w", key, sep, err)}
}

// looksLikeKey reports whether msg starts with "some_key: " or "a.b[0]: "
// (a section's error that names its own key).
func looksLikeKey(msg string) bool {
	k, _, ok := strings.Cut(msg, ": ")
	if !ok || k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '.' || r == '[' || r == ']' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port (got %q): %w", addr, err)
	}
	if port == "" {
		return fmt.Errorf("missing port in %q", addr)
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return fmt.Errorf("bad host %q", host)
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// parseBytes parses sizes such as "512MiB", "1GiB", "1000000".
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != s {
		return 0, fmt.Errorf("must be a positive size such as 512MiB or 1GiB (got %q)", s)
	}
	return n * mult, nil
}

// dbPath is where the SQLite store lives.
func (c Config) dbPath() string { return filepath.Join(c.DataDir, "tandem.db") }

func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create data_dir %s: %w", dir, err)
	}
	return nil
}
