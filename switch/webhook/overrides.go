package webhook

import (
	"fmt"
	"strings"
	"time"
)

// RetryOn is the set of failures a request is retried on (the #rp fragment
// key of twilio-voice.md §3.1).
type RetryOn uint8

const (
	// Retry4xx retries when the application answers 4xx.
	Retry4xx RetryOn = 1 << iota
	// Retry5xx retries when the application answers 5xx.
	Retry5xx
	// RetryConnect retries connect and TLS failures (and DNS failures, which
	// are connect failures too), token "ct".
	RetryConnect
	// RetryRead retries read timeouts (no first byte, or a gap between
	// packets, longer than rt), token "rt".
	RetryRead
	// retryOther covers the remaining transport failures (a reset in the
	// middle of a response); only "all" includes it.
	retryOther

	// RetryAll is "all".
	RetryAll = Retry4xx | Retry5xx | RetryConnect | RetryRead | retryOther
)

// ParseRetryOn parses a comma-separated #rp value ("4xx,5xx,ct,rt,all").
// Unknown tokens are an error here (configuration); in a URL fragment they
// are ignored (ParseOverrides).
func ParseRetryOn(s string) (RetryOn, error) {
	r, bad := parseRetryOn(s)
	if bad != "" {
		return r, fmt.Errorf("unknown retry condition %q (want 4xx, 5xx, ct, rt or all)", bad)
	}
	return r, nil
}

func parseRetryOn(s string) (r RetryOn, bad string) {
	for s != "" {
		var tok string
		tok, s, _ = strings.Cut(s, ",")
		tok = strings.TrimSpace(tok)
		switch {
		case tok == "":
		case strings.EqualFold(tok, "4xx"):
			r |= Retry4xx
		case strings.EqualFold(tok, "5xx"):
			r |= Retry5xx
		case strings.EqualFold(tok, "ct"):
			r |= RetryConnect
		case strings.EqualFold(tok, "rt"):
			r |= RetryRead
		case strings.EqualFold(tok, "all"):
			r |= RetryAll
		default:
			if bad == "" {
				bad = tok
			}
		}
	}
	return r, bad
}

func (r RetryOn) String() string {
	if r&RetryAll == RetryAll {
		return "all"
	}
	var b []byte
	add := func(bit RetryOn, s string) {
		if r&bit != 0 {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, s...)
		}
	}
	add(Retry4xx, "4xx")
	add(Retry5xx, "5xx")
	add(RetryConnect, "ct")
	add(RetryRead, "rt")
	return string(b)
}

// Overrides are the per-URL connection settings of twilio-voice.md §3.1,
// set by the #ct, #rt, #tt, #rc and #rp fragment keys.
type Overrides struct {
	Connect time.Duration // ct: TCP (and TLS) connect timeout
	Read    time.Duration // rt: time to first byte and between packets
	Total   time.Duration // tt: total time across all attempts
	Retries int           // rc: retries after the first attempt
	RetryOn RetryOn       // rp: what to retry on

	// TotalSet reports that the fragment set tt explicitly, so an expired
	// budget is reported as 11203 rather than 11205.
	TotalSet bool
}

// Ranges of the fragment keys (twilio-voice.md §3.1). Values outside are
// clamped, as Twilio documents a range rather than an error.
const (
	minConnect = 100 * time.Millisecond
	maxConnect = 10000 * time.Millisecond
	minRead    = 100 * time.Millisecond
	maxRead    = 15000 * time.Millisecond
	minTotal   = 100 * time.Millisecond
	maxTotal   = 15000 * time.Millisecond
	maxRetries = 5
)

// ParseOverrides applies the keys of a URL fragment (the text after '#',
// e.g. "ct=1000&rc=2&rp=ct,5xx") to defaults and returns the result.
// Numbers are milliseconds, clamped to the §3.1 ranges; malformed values
// and unknown keys are ignored, and so are the keys this switch accepts but
// does not act on (sni, e, r: edge selection belongs to Twilio's network).
// It never fails: a fragment is part of a URL an application configured,
// and Twilio ignores what it does not understand.
func ParseOverrides(fragment string, defaults Overrides) Overrides {
	o := defaults
	for fragment != "" {
		var kv string
		kv, fragment, _ = strings.Cut(fragment, "&")
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch k {
		case "ct":
			if ms, ok := parseMillis(v); ok {
				o.Connect = clampDur(ms, minConnect, maxConnect)
			}
		case "rt":
			if ms, ok := parseMillis(v); ok {
				o.Read = clampDur(ms, minRead, maxRead)
			}
		case "tt":
			if ms, ok := parseMillis(v); ok {
				o.Total = clampDur(ms, minTotal, maxTotal)
				o.TotalSet = true
			}
		case "rc":
			if n, ok := parseMillis(v); ok {
				o.Retries = int(min(n, maxRetries))
			}
		case "rp":
			if r, _ := parseRetryOn(v); r != 0 {
				o.RetryOn = r
			}
		}
	}
	return o
}

// parseMillis parses a non-negative decimal integer; values beyond 10^9 are
// capped there (they are clamped to the ranges anyway).
func parseMillis(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < 1e9 {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, 1e9), true
}

func clampDur(ms int64, lo, hi time.Duration) time.Duration {
	return min(max(time.Duration(ms)*time.Millisecond, lo), hi)
}
