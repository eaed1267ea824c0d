package webhook

import (
	"errors"
	"fmt"
	"time"
)

// Config is the webhook client's section of tandem.yaml.
type Config struct {
	// Defaults of the per-URL settings (twilio-voice.md §3.1); a URL's
	// #ct/#rt/#tt/#rc/#rp fragment overrides them.
	ConnectTimeout time.Duration `yaml:"connect_timeout"` // ct, 100ms–10s
	ReadTimeout    time.Duration `yaml:"read_timeout"`    // rt, 100ms–15s
	TotalTimeout   time.Duration `yaml:"total_timeout"`   // tt, 100ms–15s
	Retries        int           `yaml:"retries"`         // rc, 0–5
	RetryOn        string        `yaml:"retry_on"`        // rp, e.g. "ct" or "ct,5xx"

	// HardTimeout caps every request, retries and redirects included,
	// whatever the fragment says (Twilio: 15 s).
	HardTimeout time.Duration `yaml:"hard_timeout"`

	// MaxConnsPerHost bounds the connections (busy and idle) to one
	// scheme://host:port; a request waits for a free one up to its connect
	// timeout.
	MaxConnsPerHost int `yaml:"max_conns_per_host"`
	// IdleConnTimeout closes keep-alive connections unused for this long.
	IdleConnTimeout time.Duration `yaml:"idle_conn_timeout"`

	// MaxBodySize is the largest response body accepted (Twilio: 64 kB,
	// error 11750 beyond).
	MaxBodySize int `yaml:"max_body_size"`
	// MaxRedirects is the number of redirects followed (Twilio: 10, error
	// 11215 beyond).
	MaxRedirects int `yaml:"max_redirects"`
	// UserAgent is sent on every request (Twilio sends TwilioProxy/1.1).
	UserAgent string `yaml:"user_agent"`

	// Status callback delivery: a bounded queue (callbacks beyond it are
	// dropped and counted) served by a fixed number of workers; Close waits
	// up to CallbackDrainTimeout for the queue to empty.
	CallbackQueueSize    int           `yaml:"callback_queue_size"`
	CallbackWorkers      int           `yaml:"callback_workers"`
	CallbackDrainTimeout time.Duration `yaml:"callback_drain_timeout"`
}

// DefaultConfig returns Twilio's defaults (§3.1: ct 5000 ms, rt 15000 ms,
// tt 15000 ms, rc 1, rp ct; 15 s cap; 64 kB body; 10 redirects).
func DefaultConfig() Config {
	return Config{
		ConnectTimeout:       5 * time.Second,
		ReadTimeout:          15 * time.Second,
		TotalTimeout:         15 * time.Second,
		Retries:              1,
		RetryOn:              "ct",
		HardTimeout:          15 * time.Second,
		MaxConnsPerHost:      512,
		IdleConnTimeout:      30 * time.Second,
		MaxBodySize:          64 * 1024,
		MaxRedirects:         10,
		UserAgent:            "TwilioProxy/1.1",
		CallbackQueueSize:    16384,
		CallbackWorkers:      64,
		CallbackDrainTimeout: 5 * time.Second,
	}
}

// Validate checks every key; errors name the key relative to this section.
func (c Config) Validate() error {
	var errs []error
	durIn := func(key string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			errs = append(errs, fmt.Errorf("%s: must be between %s and %s (got %s)", key, lo, hi, d))
		}
	}
	durIn("connect_timeout", c.ConnectTimeout, minConnect, maxConnect)
	durIn("read_timeout", c.ReadTimeout, minRead, maxRead)
	durIn("total_timeout", c.TotalTimeout, minTotal, maxTotal)
	durIn("hard_timeout", c.HardTimeout, minTotal, maxTotal)
	if c.Retries < 0 || c.Retries > maxRetries {
		errs = append(errs, fmt.Errorf("retries: must be between 0 and %d (got %d)", maxRetries, c.Retries))
	}
	if _, err := ParseRetryOn(c.RetryOn); err != nil {
		errs = append(errs, fmt.Errorf("retry_on: %w", err))
	}
	if c.MaxConnsPerHost < 1 || c.MaxConnsPerHost > 16384 {
		errs = append(errs, fmt.Errorf("max_conns_per_host: must be between 1 and 16384 (got %d)", c.MaxConnsPerHost))
	}
	if c.IdleConnTimeout < time.Second {
		errs = append(errs, fmt.Errorf("idle_conn_timeout: must be at least 1s (got %s)", c.IdleConnTimeout))
	}
	if c.MaxBodySize < 1024 || c.MaxBodySize > 16<<20 {
		errs = append(errs, fmt.Errorf("max_body_size: must be between 1024 and %d (got %d)", 16<<20, c.MaxBodySize))
	}
	if c.MaxRedirects < 0 || c.MaxRedirects > 100 {
		errs = append(errs, fmt.Errorf("max_redirects: must be between 0 and 100 (got %d)", c.MaxRedirects))
	}
	if c.UserAgent == "" {
		errs = append(errs, errors.New("user_agent: must not be empty"))
	}
	for i := 0; i < len(c.UserAgent); i++ {
		if b := c.UserAgent[i]; b < 0x20 || b == 0x7f {
			errs = append(errs, errors.New("user_agent: must not contain control characters"))
			break
		}
	}
	if c.CallbackQueueSize < 1 {
		errs = append(errs, fmt.Errorf("callback_queue_size: must be at least 1 (got %d)", c.CallbackQueueSize))
	}
	if c.CallbackWorkers < 1 || c.CallbackWorkers > 4096 {
		errs = append(errs, fmt.Errorf("callback_workers: must be between 1 and 4096 (got %d)", c.CallbackWorkers))
	}
	if c.CallbackDrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("callback_drain_timeout: must not be negative (got %s)", c.CallbackDrainTimeout))
	}
	return errors.Join(errs...)
}

// overrides returns the configured defaults as Overrides.
func (c Config) overrides() Overrides {
	r, _ := parseRetryOn(c.RetryOn)
	return Overrides{
		Connect: c.ConnectTimeout,
		Read:    c.ReadTimeout,
		Total:   c.TotalTimeout,
		Retries: c.Retries,
		RetryOn: r,
	}
}
