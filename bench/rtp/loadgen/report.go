package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"tandem/rtpengine/ng"
)

// waitNG pings an ng address until it answers or the timeout passes.
func waitNG(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := dialNG(addr)
		if err == nil {
			c.conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
			_, err = c.call(ng.Dict{"command": "ping"})
			c.conn.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ng %s not answering: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// report reads result lines (JSON, one per run) and prints the side-by-side
// table of medians with ratios, as Markdown.
//
// usage: loadgen report RESULTS.jsonl [HEADER-FILE]
func report(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("usage: loadgen report RESULTS.jsonl [HEADER.md]")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	runs := map[string][]result{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		runs[r.Relay+"/"+r.Mode] = append(runs[r.Relay+"/"+r.Mode], r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(args) > 1 {
		h, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		os.Stdout.Write(h)
	}
	writeTable(os.Stdout, runs)
	return nil
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, 0, len(rs))
	for _, r := range rs {
		v = append(v, f(r))
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return math.NaN()
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// num prints a value; latencies at the histogram's cap read "≥cap".
func num(v float64, prec int, latency bool) string {
	if latency && v >= histMax {
		return fmt.Sprintf("≥%d", histMax)
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// section prints one table; ratioOf turns (tandem, rtpengine) into the
// ratio column (so that bigger is better for tandem).
func section(w io.Writer, title, ratioName string, t, r []result, rows []tableRow) {
	if len(t) == 0 && len(r) == 0 {
		return
	}
	streams := append(append([]result(nil), t...), r...)[0].Streams
	fmt.Fprintf(w, "### %s (%d streams; medians of %d/%d runs)\n\n", title, streams, len(t), len(r))
	fmt.Fprintf(w, "| | tandem | rtpengine | %s |\n|---|---:|---:|---:|\n", ratioName)
	for _, row := range rows {
		a, b := median(t, row.f), median(r, row.f)
		rat := ""
		if row.ratio != nil {
			if v := row.ratio(a, b); !math.IsNaN(v) && !math.IsInf(v, 0) {
				rat = fmt.Sprintf("%.1fx", v)
				if row.latency && b >= histMax {
					rat = "≥" + rat
				}
			}
		}
		fmt.Fprintf(w, "| %s | %s%s | %s%s | %s |\n", row.name, num(a, row.prec, row.latency), row.unit, num(b, row.prec, row.latency), row.unit, rat)
	}
	fmt.Fprintln(w)
}

type tableRow struct {
	name, unit string
	f          func(result) float64
	prec       int
	ratio      func(tandem, rtpengine float64) float64
	latency    bool // capped by the histogram
}

func writeTable(w io.Writer, runs map[string][]result) {
	lower := func(a, b float64) float64 { return b / a }  // lower is better
	higher := func(a, b float64) float64 { return a / b } // higher is better
	section(w, "Paced: every stream 50 pps in both directions", "rtpengine / tandem",
		runs["tandem/paced"], runs["rtpengine/paced"], []tableRow{
			{"forwarded pps", "", func(x result) float64 { return x.PPS }, 0, nil, false},
			{"loss", " %", func(x result) float64 { return x.LossPct }, 3, nil, false},
			{"latency p50", " µs", func(x result) float64 { return x.P50us }, 0, lower, true},
			{"latency p99", " µs", func(x result) float64 { return x.P99us }, 0, lower, true},
			{"latency p99.9", " µs", func(x result) float64 { return x.P999us }, 0, lower, true},
			{"relay CPU", " % of a core", func(x result) float64 { return 100 * x.RelayCPU }, 1, lower, false},
		})
	section(w, "Open window: as fast as the relay keeps up, bounded in flight", "tandem / rtpengine",
		runs["tandem/open"], runs["rtpengine/open"], []tableRow{
			{"forwarded pps", "", func(x result) float64 { return x.PPS }, 0, higher, false},
			{"relay CPU", " % of a core", func(x result) float64 { return 100 * x.RelayCPU }, 1, nil, false},
			{"pps per core", "", func(x result) float64 { return x.PPSPerCore }, 0, higher, false},
			{"loss", " %", func(x result) float64 { return x.LossPct }, 3, nil, false},
		})
}
