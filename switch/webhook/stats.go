package webhook

import (
	"sync/atomic"
	"time"
)

// latencyBounds are the upper bounds of the fetch latency histogram.
var latencyBounds = [...]time.Duration{
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 15 * time.Second,
}

// countedCodes are the codes with their own failure counter; others count
// under 0.
var countedCodes = [...]int{
	CodeInvalidURL, CodeRetrievalFailure, CodeTotalTimeout, CodeConnectionFailure,
	CodeProtocolViolation, CodeBadHostName, CodeTooManyRedirects, CodeHTTPErrorStatus,
	CodeTLSHandshake, CodeCertDomain, CodeCertExpired, CodeCertUnknownCA,
	CodeBodyTooLarge, CodeContentType,
}

type stats struct {
	fetches, fetchOK      atomic.Uint64
	attempts, retries     atomic.Uint64
	redirects             atomic.Uint64
	staleConns            atomic.Uint64
	connsOpened           atomic.Uint64
	fallbacks             atomic.Uint64
	fallbackOK            atomic.Uint64
	failures              [len(countedCodes) + 1]atomic.Uint64
	cbQueued, cbDropped   atomic.Uint64
	cbDelivered, cbFailed atomic.Uint64
	latency               [len(latencyBounds) + 1]atomic.Uint64
	latencySumNS          atomic.Int64
}

func (s *stats) fail(code int) {
	for i, c := range countedCodes {
		if c == code {
			s.failures[i+1].Add(1)
			return
		}
	}
	s.failures[0].Add(1)
}

func (s *stats) observeLatency(d time.Duration) {
	s.latencySumNS.Add(int64(d))
	for i, b := range latencyBounds {
		if d <= b {
			s.latency[i].Add(1)
			return
		}
	}
	s.latency[len(latencyBounds)].Add(1)
}

// Stats is a snapshot of the client's counters; cmd/tandem exports them.
type Stats struct {
	Fetches       uint64         // Fetch calls (fallback requests included)
	FetchesOK     uint64         // of which returned a document
	FetchFailures map[int]uint64 // failed Fetch calls by Twilio code (0: other)
	Attempts      uint64         // HTTP requests sent (fetches and callbacks, retries and redirects included)
	Retries       uint64         // attempts repeated per #rc/#rp
	Redirects     uint64         // redirects followed
	StaleConns    uint64         // requests re-sent because an idle keep-alive connection had been closed
	ConnsOpened   uint64         // connections dialed
	Fallbacks     uint64         // fallback URL requests made
	FallbacksOK   uint64         // of which returned a document

	CallbacksQueued    uint64
	CallbacksDelivered uint64 // 2xx/3xx received
	CallbacksFailed    uint64 // retries exhausted
	CallbacksDropped   uint64 // queue full, client closed, or left at the drain deadline
	CallbacksPending   int    // queued now, including those being delivered

	// Fetch latency (Fetch calls, retries and redirects included):
	// cumulative buckets as Prometheus expects.
	Latency    []LatencyBucket
	LatencySum time.Duration
	LatencyN   uint64
}

// LatencyBucket counts fetches that took at most UpperBound (cumulative;
// the last bucket's bound is 0 and means +Inf).
type LatencyBucket struct {
	UpperBound time.Duration
	Count      uint64
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	out := Stats{
		Fetches:            s.fetches.Load(),
		FetchesOK:          s.fetchOK.Load(),
		FetchFailures:      make(map[int]uint64),
		Attempts:           s.attempts.Load(),
		Retries:            s.retries.Load(),
		Redirects:          s.redirects.Load(),
		StaleConns:         s.staleConns.Load(),
		ConnsOpened:        s.connsOpened.Load(),
		Fallbacks:          s.fallbacks.Load(),
		FallbacksOK:        s.fallbackOK.Load(),
		CallbacksQueued:    s.cbQueued.Load(),
		CallbacksDelivered: s.cbDelivered.Load(),
		CallbacksFailed:    s.cbFailed.Load(),
		CallbacksDropped:   s.cbDropped.Load(),
		LatencySum:         time.Duration(s.latencySumNS.Load()),
	}
	for i := range s.failures {
		if n := s.failures[i].Load(); n > 0 {
			code := 0
			if i > 0 {
				code = countedCodes[i-1]
			}
			out.FetchFailures[code] = n
		}
	}
	var cum uint64
	for i := range s.latency {
		cum += s.latency[i].Load()
		var ub time.Duration
		if i < len(latencyBounds) {
			ub = latencyBounds[i]
		}
		out.Latency = append(out.Latency, LatencyBucket{UpperBound: ub, Count: cum})
	}
	out.LatencyN = cum
	c.callbacks.mu.Lock()
	out.CallbacksPending = c.callbacks.size
	c.callbacks.mu.Unlock()
	return out
}
