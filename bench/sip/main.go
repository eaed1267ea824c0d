// Command sip measures the bare SIP stack: SIPp UAC → tandem's sipstack (a
// B2BUA harness) → local answer or SIPp UAS, at several call rates, and
// reports for each the share of failed calls and the stack's CPU per call.
//
//	go run ./bench/sip -mode forward -rates 250,500,750,1000,1250 -duration 15s
//
// The stack runs in this process, so getrusage(RUSAGE_SELF) is its CPU;
// SIPp runs as child processes. Every step is bounded by -duration plus a
// drain period. Loopback only.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"tandem/internal/sipptest"
	"tandem/sipstack"
)

const sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

func main() {
	mode := flag.String("mode", "answer", "answer: the harness answers calls itself; forward: it dials a SIPp UAS (B2BUA)")
	rates := flag.String("rates", "250,500,750,1000", "call rates to try, calls/s")
	duration := flag.Duration("duration", 15*time.Second, "length of each step")
	hold := flag.Duration("hold", time.Second, "how long the UAC holds each call (SIPp -d)")
	sockets := flag.Int("sockets", 2, "UDP sockets on the SIP port (SO_REUSEPORT)")
	dir := flag.String("dir", "", "directory for SIPp logs (default: a temp dir)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run")
	holdCalls := flag.Int("hold-calls", 0, "instead of the rate sweep: hold this many answered calls (20 s each) and report heap per held call")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	if *dir == "" {
		d, err := os.MkdirTemp("", "bench-sip-")
		if err != nil {
			fail(err)
		}
		*dir = d
	}
	here := sourceDir()
	// The scenarios read each call's media address from an injection file
	// (bench/sip/uac.xml); this harness relays no media, so any will do.
	uacInf, uasInf := filepath.Join(*dir, "uac.csv"), filepath.Join(*dir, "uas.csv")
	for i, f := range []string{uacInf, uasInf} {
		if err := os.WriteFile(f, []byte(fmt.Sprintf("SEQUENTIAL\n127.0.%d.1;40000\n", i)), 0o644); err != nil {
			fail(err)
		}
	}

	// Budget memory by call rate (ARCHITECTURE.md): let the GC work against a
	// limit instead of doubling the heap.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}

	var uas *sipptest.Process
	var uasAddr atomic.Value // string; late retransmissions may arrive between steps
	uasAddr.Store("127.0.0.1:9")
	cfg := sipstack.DefaultConfig()
	cfg.Listen = []sipstack.ListenConfig{{Transport: "udp", Address: "127.0.0.1:0", Sockets: *sockets}}
	cfg.InboundTrunks = []sipstack.InboundTrunk{{Name: "sipp", CIDRs: []string{"127.0.0.0/8"}}}
	var st *sipstack.Stack
	handler := func(in *sipstack.InboundCall) {
		if *mode == "answer" {
			if err := in.Answer(context.Background(), []byte(sdp), nil); err != nil {
				return
			}
			<-in.Done()
			return
		}
		forward(st, uasAddr.Load().(string), in)
	}
	var err error
	st, err = sipstack.New(cfg, sipstack.WithInviteHandler(handler), sipstack.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		fail(err)
	}
	if err := st.Start(context.Background()); err != nil {
		fail(err)
	}
	defer st.Close()

	if *holdCalls > 0 {
		measureHold(st, here, *dir, uacInf, *holdCalls)
		return
	}
	fmt.Printf("mode=%s sockets=%d duration=%s GOMAXPROCS=%d\n", *mode, *sockets, *duration, runtime.GOMAXPROCS(0))
	fmt.Printf("%8s %8s %8s %8s %9s %10s %10s %9s\n", "rate", "calls", "ok", "failed", "fail%", "cpu_ms", "us/call", "heap_MB")
	best := 0.0
	for _, rs := range strings.Split(*rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		calls := int(rate * duration.Seconds())
		if *mode == "forward" {
			uas, err = sipptest.Start(context.Background(), sipptest.Config{
				Scenario: filepath.Join(here, "uas.xml"), Dir: *dir, Timeout: *duration + 60*time.Second,
				Args: append([]string{"-inf", uasInf, "-max_recv_loops", "10000", "-buff_size", "8388608"}, strings.Fields(os.Getenv("BENCH_SIPP_UAS_ARGS"))...),
			})
			if err != nil {
				fail(err)
			}
			uasAddr.Store(uas.Addr().String())
		}
		runtime.GC()
		cpu0 := cpuTime()
		uac, err := sipptest.Start(context.Background(), sipptest.Config{
			Scenario: filepath.Join(here, "uac.xml"), Remote: st.Addr("udp").String(),
			Calls: calls, Rate: rate, Limit: int(rate * 10), Dir: *dir, Timeout: *duration + 40*time.Second,
			Args: []string{"-inf", uacInf, "-d", strconv.Itoa(int(hold.Milliseconds())), "-s", "+15550001111", "-max_recv_loops", "10000", "-buff_size", "8388608", "-recv_timeout", "10000"},
		})
		if err != nil {
			fail(err)
		}
		res, err := uac.Wait()
		cpu := cpuTime() - cpu0
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		uasNote := ""
		if uas != nil {
			uas.Stop()
			if ur, err := uas.Wait(); err == nil {
				uasNote = fmt.Sprintf(" (uas: ok=%d failed=%d)", ur.Successful, ur.Failed)
			}
			uas = nil
		}
		if err != nil {
			fmt.Printf("%8.0f step failed: %v\n", rate, err)
			continue
		}
		total := res.Successful + res.Failed
		failPct := 100.0
		if total > 0 {
			failPct = 100 * float64(res.Failed+calls-total) / float64(calls)
		}
		perCall := 0.0
		if res.Successful > 0 {
			perCall = float64(cpu.Microseconds()) / float64(res.Successful)
		}
		fmt.Printf("%8.0f %8d %8d %8d %8.3f%% %10d %10.1f %9.1f%s\n", rate, calls, res.Successful, res.Failed, failPct, cpu.Milliseconds(), perCall, float64(ms.HeapInuse)/(1<<20), uasNote)
		if failPct < 0.1 && rate > best {
			best = rate
		}
		// Let finished transactions expire before the next step.
		time.Sleep(2 * time.Second)
	}
	fmt.Printf("highest rate with <0.1%% failed calls: %.0f calls/s\n", best)
	st2 := st.Stats()
	fmt.Printf("refused=%v parse_errors=%d\nrequests_in=%v\nrequests_out=%v\nresponses_in=%v\nresponses_out=%v\n",
		nonZero(st2.Refused), st2.ParseErrors, nonZero(st2.RequestsIn), nonZero(st2.RequestsOut), nonZero(st2.ResponsesIn), nonZero(st2.ResponsesOut))
}

// forward is the B2BUA leg logic (the same as the switch will do, minus
// TwiML and media): dial the UAS, relay progress, the answer and the BYE.
func forward(st *sipstack.Stack, target string, in *sipstack.InboundCall) {
	out, err := st.Dial(in.Context(), sipstack.DialRequest{Target: "sip:bob@" + target, FromUser: in.From().User, SDP: in.Offer()})
	if err != nil {
		_ = in.Reject(503, "", nil)
		return
	}
	for u := range out.Updates() {
		if !u.Final {
			_ = in.Progress(u.Code, u.SDP)
			continue
		}
		if u.Code >= 300 || u.AnsweredAfterCancel {
			_ = in.Reject(u.Code, "", nil)
			return
		}
		if err := in.Answer(context.Background(), u.SDP, nil); err != nil {
			_ = out.Hangup(context.Background(), nil)
			return
		}
	}
	select {
	case <-in.Done():
		_ = out.Hangup(context.Background(), nil)
	case <-out.Done():
		_ = in.Hangup(context.Background(), nil)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func nonZero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

func sourceDir() string {
	if _, err := os.Stat("bench/sip/uac.xml"); err == nil {
		d, _ := filepath.Abs("bench/sip")
		return d
	}
	d, _ := filepath.Abs(".")
	return d
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/sip:", err)
	os.Exit(1)
}

// measureHold answers holdCalls calls that stay up 20 s each and reports the
// live heap per held call once they are all up (after a GC), i.e. what a held
// call costs the stack: dialog, INVITE, SIPp-side nothing.
func measureHold(st *sipstack.Stack, here, dir, inf string, calls int) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	rate := 500.0
	uac, err := sipptest.Start(context.Background(), sipptest.Config{
		Scenario: filepath.Join(here, "uac.xml"), Remote: st.Addr("udp").String(),
		Calls: calls, Rate: rate, Limit: calls, Dir: dir, Timeout: 120 * time.Second,
		Args: []string{"-inf", inf, "-d", "20000", "-s", "+15550001111", "-buff_size", "8388608"},
	})
	if err != nil {
		fail(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for st.ActiveCalls() < calls && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	held := st.ActiveCalls()
	// Let finished transactions (INVITE, ACK) be freed, then measure.
	time.Sleep(5 * time.Second)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	live := int64(ms.HeapAlloc) - int64(base.HeapAlloc)
	stacks := int64(ms.StackInuse) - int64(base.StackInuse)
	fmt.Printf("held calls: %d, live heap: %.1f MB (%.1f KiB/call), goroutine stacks: %.1f MB (%.1f KiB/call), goroutines: %d\n",
		held, float64(live)/(1<<20), float64(live)/float64(max(held, 1))/1024,
		float64(stacks)/(1<<20), float64(stacks)/float64(max(held, 1))/1024, runtime.NumGoroutine())
	res, _ := uac.Wait()
	fmt.Printf("sipp: %v\n", res)
}
