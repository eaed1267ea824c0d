package main

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// percentile is the nearest-rank percentile (p in 0..100) of xs, which it
// sorts. NaN-free input; 0 for an empty slice.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	k := int(p/100*float64(len(xs))+0.999999) - 1
	k = max(0, min(k, len(xs)-1))
	return xs[k]
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// latencies summarises the setup of the calls of one step, in milliseconds.
type latencies struct {
	matched                int // calls with both INVITE and 200 seen
	setupP50, setupP99     float64
	webhookP50, webhookP99 float64
	calleeP50, calleeP99   float64
	addedP50, addedP99     float64
	addedMax               float64
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarise computes the per-call added latency: INVITE→200 minus the
// application's own handling time minus the time spent waiting for the
// callee inside that window.
func summarise(calls map[int]*callTimes, hook map[int]time.Duration) latencies {
	var setup, wh, callee, added []float64
	for n, c := range calls {
		s, ok := c.setup()
		if !ok {
			continue
		}
		w := hook[n] // zero through the proxy
		cw := c.calleeWait()
		setup = append(setup, ms(s))
		if _, ok := hook[n]; ok {
			wh = append(wh, ms(w))
		}
		callee = append(callee, ms(cw))
		added = append(added, ms(s-w-cw))
	}
	l := latencies{matched: len(setup)}
	l.setupP50, l.setupP99 = percentile(setup, 50), percentile(setup, 99)
	l.webhookP50, l.webhookP99 = percentile(wh, 50), percentile(wh, 99)
	l.calleeP50, l.calleeP99 = percentile(callee, 50), percentile(callee, 99)
	l.addedP50, l.addedP99 = percentile(added, 50), percentile(added, 99)
	l.addedMax = percentile(added, 100)
	return l
}

// sippRTT reads SIPp's -trace_rtt file (Date_ms;response_time_ms;rtd_no)
// and returns the response times in milliseconds. SIPp 3.6 measures them
// with a millisecond clock: a cross-check of the capture, not a substitute.
func sippRTT(path string) []float64 {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ";")
		if len(parts) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(parts[1], 64)
		if err == nil {
			out = append(out, v)
		}
	}
	return out
}
