package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

func printHeader() {
	fmt.Printf("%-8s %5s %3s %6s %6s %6s %7s %8s %6s %7s %13s %13s %13s %9s %7s %6s %s\n",
		"target", "rate", "run", "calls", "ok", "failed", "fail%", "us/call", "gc%", "memMB", "setup p50/99", "hook p50/99", "added p50/99", "sipp rtd", "gen us", "others", "load")
}

func printRow(r stepResult) {
	fmt.Printf("%-8s %5d %3d %6d %6d %6d %6.3f%% %8.0f %6.1f %7.1f %6.2f/%6.2f %6.3f/%6.3f %6.2f/%6.2f %4.0f/%4.0f %7.0f %6.2f %s\n",
		r.target, r.rate, r.run, r.calls, r.ok, r.failed, r.failPct, r.usPerCall, r.gcShare, r.memMaxMB,
		r.lat.setupP50, r.lat.setupP99, r.lat.webhookP50, r.lat.webhookP99, r.lat.addedP50, r.lat.addedP99,
		r.sippP50, r.sippP99, perCall(r.genCPU, r.ok), r.others, r.load)
}

func perCall(sec float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return sec * 1e6 / float64(n)
}

// summary is the median over the runs of one target at one rate.
type summary struct {
	target             string
	rate, runs         int
	calls, ok, failed  int // totals over the runs
	failPcts           []float64
	failPct            float64 // median
	usPerCall, gcShare float64
	memMB              float64
	setupP50, setupP99 float64
	hookP50, hookP99   float64
	addedP50, addedP99 float64
	calleeP50          float64
	sippP50, sippP99   float64
	retrans            int
	loads              []string
	gcCycles           float64
	gcMaxSTW           float64
	matched            int
	webhookReqs        int64
	others             []float64 // cores used by unrelated processes, per run
	genUs              float64   // SIPp (and dumpcap) CPU per call, median
}

func summarize(rs []stepResult, targets []string) []summary {
	var out []summary
	var rates []int
	seen := map[int]bool{}
	for _, r := range rs {
		if !seen[r.rate] {
			seen[r.rate] = true
			rates = append(rates, r.rate)
		}
	}
	for _, t := range targets {
		for _, rate := range rates {
			var g []stepResult
			for _, r := range rs {
				if r.target == t && r.rate == rate {
					g = append(g, r)
				}
			}
			if len(g) == 0 {
				continue
			}
			s := summary{target: t, rate: rate, runs: len(g)}
			col := func(f func(stepResult) float64) float64 {
				var xs []float64
				for _, r := range g {
					xs = append(xs, f(r))
				}
				return median(xs)
			}
			for _, r := range g {
				s.calls += r.calls
				s.ok += r.ok
				s.failed += r.failed
				s.retrans += r.retrans
				s.failPcts = append(s.failPcts, r.failPct)
				s.loads = append(s.loads, r.load)
				s.matched += r.lat.matched
				s.webhookReqs += r.webhookReqs
				s.gcMaxSTW = max(s.gcMaxSTW, r.gc.maxSTW)
				s.others = append(s.others, r.others)
			}
			s.genUs = col(func(r stepResult) float64 { return perCall(r.genCPU, r.ok) })
			s.failPct = median(s.failPcts)
			s.usPerCall = col(func(r stepResult) float64 { return r.usPerCall })
			s.gcShare = col(func(r stepResult) float64 { return r.gcShare })
			s.gcCycles = col(func(r stepResult) float64 { return float64(r.gc.cycles) })
			s.memMB = col(func(r stepResult) float64 { return r.memMaxMB })
			s.setupP50 = col(func(r stepResult) float64 { return r.lat.setupP50 })
			s.setupP99 = col(func(r stepResult) float64 { return r.lat.setupP99 })
			s.hookP50 = col(func(r stepResult) float64 { return r.lat.webhookP50 })
			s.hookP99 = col(func(r stepResult) float64 { return r.lat.webhookP99 })
			s.addedP50 = col(func(r stepResult) float64 { return r.lat.addedP50 })
			s.addedP99 = col(func(r stepResult) float64 { return r.lat.addedP99 })
			s.calleeP50 = col(func(r stepResult) float64 { return r.lat.calleeP50 })
			s.sippP50 = col(func(r stepResult) float64 { return r.sippP50 })
			s.sippP99 = col(func(r stepResult) float64 { return r.sippP99 })
			out = append(out, s)
		}
	}
	return out
}

// best is the highest rate whose median failure share is below 0.1 %.
func best(ss []summary, target string) int {
	b := 0
	for _, s := range ss {
		if s.target == target && s.failPct < 0.1 && s.rate > b {
			b = s.rate
		}
	}
	return b
}

func find(ss []summary, target string, rate int) (summary, bool) {
	for _, s := range ss {
		if s.target == target && s.rate == rate {
			return s, true
		}
	}
	return summary{}, false
}

func cores(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(parts, ", ")
}

func pcts(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprintf("%.2g", x))
	}
	return strings.Join(parts, ", ")
}

// printSummary writes the Markdown tables (also used on stdout).
func printSummary(w io.Writer, rs []stepResult, targets []string) {
	ss := summarize(rs, targets)
	for _, t := range targets {
		switch t {
		case "tandem":
			fmt.Fprintf(w, "\n### tandem (SIPp UAC → tandem → SIPp UAS; webhook <Dial><Sip>)\n\n")
			fmt.Fprintln(w, "| rate/s | calls | failed | fail % (median; each run) | CPU µs/call | GC CPU % | GC cycles | RSS max MB | INVITE→200 p50 / p99 ms | webhook p50 / p99 ms | added p50 / p99 ms | SIPp rtd p50 / p99 ms | SIPp µs/call | others' cores (each run) | load avg at start (each run) |")
			fmt.Fprintln(w, "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
			for _, s := range ss {
				if s.target != t {
					continue
				}
				fmt.Fprintf(w, "| %d | %d | %d | %.3f (%s) | %.0f | %.1f | %.0f | %.0f | %.2f / %.2f | %.3f / %.3f | %.2f / %.2f | %.0f / %.0f | %.0f | %s | %s |\n",
					s.rate, s.calls, s.failed, s.failPct, pcts(s.failPcts), s.usPerCall, s.gcShare, s.gcCycles, s.memMB,
					s.setupP50, s.setupP99, s.hookP50, s.hookP99, s.addedP50, s.addedP99, s.sippP50, s.sippP99, s.genUs, cores(s.others), strings.Join(s.loads, "; "))
			}
			fmt.Fprintf(w, "\nHighest rate with < 0.1 %% failed calls (median of runs): **%d calls/s**\n", best(ss, t))
		case "kamailio":
			fmt.Fprintf(w, "\n### Kamailio (SIPp UAC → Kamailio t_relay, record-route → SIPp UAS)\n\n")
			fmt.Fprintln(w, "| rate/s | calls | failed | fail % (median; each run) | CPU µs/call | PSS max MB | INVITE→200 p50 / p99 ms | callee p50 ms | added p50 / p99 ms | SIPp rtd p50 / p99 ms | SIPp µs/call | others' cores (each run) | load avg at start (each run) |")
			fmt.Fprintln(w, "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
			for _, s := range ss {
				if s.target != t {
					continue
				}
				fmt.Fprintf(w, "| %d | %d | %d | %.3f (%s) | %.0f | %.0f | %.2f / %.2f | %.2f | %.2f / %.2f | %.0f / %.0f | %.0f | %s | %s |\n",
					s.rate, s.calls, s.failed, s.failPct, pcts(s.failPcts), s.usPerCall, s.memMB,
					s.setupP50, s.setupP99, s.calleeP50, s.addedP50, s.addedP99, s.sippP50, s.sippP99, s.genUs, cores(s.others), strings.Join(s.loads, "; "))
			}
			fmt.Fprintf(w, "\nHighest rate with < 0.1 %% failed calls (median of runs): **%d calls/s**\n", best(ss, t))
		}
	}
	if len(targets) == 2 {
		fmt.Fprintf(w, "\n### CPU per call, tandem against Kamailio (same session, medians)\n\n")
		fmt.Fprintln(w, "| rate/s | tandem µs/call | Kamailio µs/call | ratio | tandem added p50 / p99 ms | Kamailio added p50 / p99 ms |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
		for _, s := range ss {
			if s.target != "tandem" {
				continue
			}
			k, ok := find(ss, "kamailio", s.rate)
			if !ok || k.usPerCall == 0 {
				continue
			}
			fmt.Fprintf(w, "| %d | %.0f | %.0f | %.2fx | %.2f / %.2f | %.2f / %.2f |\n", s.rate, s.usPerCall, k.usPerCall, s.usPerCall/k.usPerCall,
				s.addedP50, s.addedP99, k.addedP50, k.addedP99)
		}
	}
}

// writeResults writes the whole session as Markdown.
func writeResults(path string, b *bench) error {
	var sb strings.Builder
	w := &sb
	fmt.Fprintf(w, "# SIP calls-per-second benchmark: tandem against Kamailio\n\n")
	fmt.Fprintf(w, "Generated by `bench/sip/cps` (see README.md for what is measured and how).\n\n")
	fmt.Fprintf(w, "- Date: %s (session of %s)\n", b.start.UTC().Format("2006-01-02 15:04 MST"), time.Since(b.start).Round(time.Second))
	fmt.Fprintf(w, "- Machine: %s\n", machine())
	fmt.Fprintf(w, "- Command: `%s`\n", b.o.command)
	fmt.Fprintf(w, "- Tools: %s; %s; SIPp %s; %s; Go %s\n", toolVersion(b.o.tandemBin, "version"), toolVersion(b.o.kamailioBin, "-v"),
		strings.TrimPrefix(toolVersion("/usr/bin/sipp", "-v"), "SIPp "), toolVersion(b.o.dumpcapBin, "-v"), runtime.Version())
	pin := "none (everything floats over both CPUs)"
	if b.o.pin == "split" {
		pin = "the system under test (tandem, or Kamailio and all its workers) on CPU 1 (`taskset -c 1`); SIPp UAC and UAS, the webhook server and dumpcap on CPU 0"
	}
	fmt.Fprintf(w, "- Pinning: %s\n", pin)
	rt := "daemon defaults"
	if b.o.memoryLimit != "" || b.o.gcPercent != 0 {
		rt = fmt.Sprintf("runtime.memory_limit %q, runtime.gc_percent %d", b.o.memoryLimit, b.o.gcPercent)
	}
	dial := "`<Response><Dial><Sip>sip:bob@127.0.0.1:PORT</Sip></Dial></Response>` (Twilio's default: the caller is answered when the Dial starts)"
	if b.o.answerOnBridge {
		dial = "`<Dial answerOnBridge=\"true\"><Sip>…` (the caller is answered when the callee answers)"
	}
	fmt.Fprintf(w, "- tandem: log.level warn, %d UDP SIP socket(s), %s; webhook answers %s\n", b.o.sipSockets, rt, dial)
	fmt.Fprintf(w, "- Kamailio: bench/sip/kamailio.cfg (tm t_relay, record_route, loose_route), %d UDP workers, -m 256 -M 16\n", b.o.kamChildren)
	fmt.Fprintf(w, "- Load: %d s per step, 1 s calls (SIPp -d 1000), %d run(s) per rate, targets interleaved at each rate; CPU counted from the first INVITE to %s after the last BYE\n",
		int(b.o.duration/time.Second), b.o.runs, b.o.tail)
	var idle []string
	for _, t := range b.o.targets {
		idle = append(idle, fmt.Sprintf("%s %.1f ms/s", t, b.idleCPU[t]*1000))
	}
	fmt.Fprintf(w, "- Idle CPU of the systems under test (included in CPU per call): %s\n", strings.Join(idle, ", "))
	printSummary(w, b.results, b.o.targets)
	if len(b.held) > 0 {
		h0 := b.held[0]
		fmt.Fprintf(w, "\n### Held calls (tandem, a fresh daemon for each runtime setting)\n\n")
		fmt.Fprintf(w, "%d calls set up through tandem at %d calls/s and held (%s for the first); RSS per held call = (RSS with the calls up − RSS idle) / calls up. Live per call is the Go heap after a forced collection plus goroutine stacks (gctrace), before the collector's headroom.\n\n",
			h0.want, h0.rate, h0.holdFor.Round(time.Second))
		fmt.Fprintln(w, "| runtime | calls up | RSS idle MB | RSS held MB | **RSS KiB per held call** | after forced GC: RSS MB (KiB/call) | live heap + stacks KiB per call | goroutines idle → held | SIPp ok / failed | load |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, h := range b.held {
			fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | **%.1f** | %.1f (%.1f) | %.1f | %.0f → %.0f | %d / %d | %s |\n",
				h.runtime, h.held, mb(h.idleRSS), mb(h.heldRSS), h.perCall(h.heldRSS), mb(h.heldRSSAfterGC), h.perCall(h.heldRSSAfterGC),
				h.livePerCall(), h.goroutines0, h.goroutns, h.ok, h.failed, h.load)
		}
	}
	fmt.Fprintf(w, "\n### Per run\n\n```\n")
	var rows strings.Builder
	for _, r := range b.results {
		fmt.Fprintf(&rows, "%-8s %5d run %d: calls %d attempted %d ok %d failed %d (%.3f%%) retrans %d cpu %.2fs (%.0f us/call) gc %d cycles %.2fs cpu (%.1f%%), max STW %.2f ms, mem max %.1f MB, setup p50/p99 %.2f/%.2f ms (%d calls matched), hook p50/p99 %.3f/%.3f, added p50/p99/max %.2f/%.2f/%.2f ms, SIPp+dumpcap %.2fs cpu, others %.2f cores (%.2f before), load %s\n",
			r.target, r.rate, r.run, r.calls, r.attempted, r.ok, r.failed, r.failPct, r.retrans, r.cpu, r.usPerCall,
			r.gc.cycles, r.gc.cpu, r.gcShare, r.gc.maxSTW*1000, r.memMaxMB, r.lat.setupP50, r.lat.setupP99, r.lat.matched,
			r.lat.webhookP50, r.lat.webhookP99, r.lat.addedP50, r.lat.addedP99, r.lat.addedMax, r.genCPU, r.others, r.othersBefore, r.load)
	}
	w.WriteString(rows.String())
	fmt.Fprintf(w, "```\n")
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}
