// Command cps is tandem's calls-per-second benchmark against Kamailio
// (issue 4): SIPp UAC → tandem (the webhook answers <Dial><Sip> to a SIPp
// UAS) → SIPp UAS, 1 s calls, at a ladder of rates, and the same load
// through Kamailio as a transaction-stateful proxy, in the same session,
// interleaved rate by rate. Then 10k held calls through tandem for memory
// per call. bench/sip/run.sh builds everything and runs it:
//
//	bench/sip/run.sh
//	go run ./bench/sip/cps -tandem bin/tandem -rates 500,1000 -duration 15s -runs 3
//
// Per step it reports attempted, succeeded and failed calls, the CPU
// seconds of the process under test per call (/proc/PID/stat utime+stime,
// all of Kamailio's processes), its memory, and from a loopback capture
// (dumpcap) the INVITE→200 time per call, the webhook's own handling time
// and the latency the switch adds. Every step and every child process is
// bounded in time; children are ended by PID.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tandem/internal/sipptest"
)

type options struct {
	tandemBin, kamailioBin, dumpcapBin string
	scenarioDir                        string
	rates                              []int
	duration                           time.Duration
	runs                               int
	targets                            []string
	pin                                string
	holdCalls, holdRate                int
	holdRuntimes                       []runtimeSettings
	holdFor                            time.Duration
	results                            string
	dir                                string
	profileDir                         string
	profileRates                       []int
	memoryLimit                        string
	gcPercent                          int
	sipSockets                         int
	kamChildren                        int
	answerOnBridge                     bool
	capture                            bool
	tail                               time.Duration
	quietCores                         float64
	quietWait                          time.Duration
	nice                               int
	keepCaptures                       bool
	command                            string
}

func main() {
	var o options
	var rates, targets, profileRates, holdRuntimes string
	flag.StringVar(&o.tandemBin, "tandem", "bin/tandem", "tandem binary")
	flag.StringVar(&o.kamailioBin, "kamailio", "/usr/sbin/kamailio", "Kamailio binary")
	flag.StringVar(&o.dumpcapBin, "dumpcap", "/usr/bin/dumpcap", "dumpcap binary (setup latency capture)")
	flag.StringVar(&o.scenarioDir, "scenarios", "bench/sip", "directory of uac.xml, uas.xml and kamailio.cfg")
	flag.StringVar(&rates, "rates", "250,500,750,1000,1250,1500", "call rates, calls/s")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "length of each step (calls started)")
	flag.IntVar(&o.runs, "runs", 3, "runs of each step; tables give the median")
	flag.StringVar(&targets, "targets", "tandem,kamailio", "systems under test, in the order run at each rate")
	flag.StringVar(&o.pin, "pin", "split", "split: the system under test on CPU 1, SIPp, webhook and capture on CPU 0; none: no pinning")
	flag.IntVar(&o.holdCalls, "hold-calls", 10000, "calls held at once for memory per call (0: skip)")
	flag.IntVar(&o.holdRate, "hold-rate", 500, "rate at which the held calls are set up")
	flag.StringVar(&holdRuntimes, "hold-runtimes", "default,400/512MiB", "runtime settings (GC/LIMIT, or default) under which the held calls are measured, each on a fresh daemon")
	flag.DurationVar(&o.holdFor, "hold-for", 25*time.Second, "how long the last held call stays up")
	flag.StringVar(&o.results, "results", "", "write the results as Markdown to this file (e.g. bench/sip/RESULTS.md)")
	flag.StringVar(&o.dir, "dir", "", "working directory for configs, logs and captures (default: a temp dir, removed on success)")
	flag.StringVar(&o.profileDir, "profile-dir", "", "save tandem CPU and allocation profiles of the -profile-rates steps here")
	flag.StringVar(&profileRates, "profile-rates", "500,1000", "rates to profile (with -profile-dir)")
	flag.StringVar(&o.memoryLimit, "memory-limit", "", "tandem runtime.memory_limit (e.g. 1GiB; empty: the daemon's default)")
	flag.IntVar(&o.gcPercent, "gc-percent", 0, "tandem runtime.gc_percent (0: the daemon's default)")
	flag.IntVar(&o.sipSockets, "sip-sockets", 2, "tandem UDP sockets on the SIP port")
	flag.IntVar(&o.kamChildren, "kamailio-children", 4, "Kamailio UDP worker processes")
	flag.BoolVar(&o.answerOnBridge, "answer-on-bridge", false, "the webhook answers <Dial answerOnBridge=\"true\">")
	flag.BoolVar(&o.capture, "capture", true, "measure setup latency with a dumpcap capture")
	flag.DurationVar(&o.tail, "tail", 5*time.Second, "CPU is counted this long after the last call ends (timers, GC)")
	flag.Float64Var(&o.quietCores, "quiet-cores", 0.25, "before a step, wait until unrelated processes use less than this many cores")
	flag.DurationVar(&o.quietWait, "quiet-wait", time.Minute, "but wait at most this long")
	flag.BoolVar(&o.keepCaptures, "keep-captures", false, "keep each step's setup.pcap in -dir")
	flag.IntVar(&o.nice, "nice", 0, "run the benchmark (and everything it starts) at this nice level")
	flag.Parse()
	o.command = "go run ./bench/sip/cps " + strings.Join(os.Args[1:], " ")
	if c := os.Getenv("CPS_COMMAND"); c != "" {
		o.command = c
	}
	var err error
	if o.rates, err = intList(rates); err != nil {
		fail(fmt.Errorf("-rates: %w", err))
	}
	if o.profileRates, err = intList(profileRates); err != nil {
		fail(fmt.Errorf("-profile-rates: %w", err))
	}
	if o.holdRuntimes, err = parseRuntimes(holdRuntimes); err != nil {
		fail(fmt.Errorf("-hold-runtimes: %w", err))
	}
	for _, t := range strings.Split(targets, ",") {
		switch t = strings.TrimSpace(t); t {
		case "tandem", "kamailio":
			o.targets = append(o.targets, t)
		case "":
		default:
			fail(fmt.Errorf("-targets: unknown %q", t))
		}
	}
	if o.duration < time.Second || o.duration > 5*time.Minute || o.runs < 1 || o.runs > 9 {
		fail(fmt.Errorf("-duration must be 1s..5m and -runs 1..9"))
	}
	if o.pin != "split" && o.pin != "none" {
		fail(fmt.Errorf("-pin must be split or none"))
	}
	if o.pin == "split" && numCPU() < 2 {
		o.pin = "none"
	}
	if (o.pin == "split" || o.nice != 0) && os.Getenv("CPS_REEXEC") == "" {
		// SIPp, the webhook and dumpcap run in (or under) this process: put
		// it on CPU 0 (the system under test goes on CPU 1), and at the nice
		// level asked for; children inherit both.
		argv := []string{"nice", "-n", strconv.Itoa(o.nice)}
		if o.pin == "split" {
			argv = append(argv, "taskset", "-c", "0")
		}
		exe, err := os.Executable()
		if err != nil {
			fail(err)
		}
		nice, err := exec.LookPath("nice")
		if err != nil {
			fail(fmt.Errorf("-pin split and -nice need nice and taskset (coreutils, util-linux): %w", err))
		}
		env := append(os.Environ(), "CPS_REEXEC=1", "CPS_COMMAND="+o.command)
		err = syscall.Exec(nice, append(append(argv, exe), os.Args[1:]...), env)
		fail(fmt.Errorf("re-exec under nice/taskset: %w", err))
	}
	for _, bin := range []string{"/usr/bin/sipp", o.tandemBin} {
		if _, err := os.Stat(bin); err != nil {
			fail(fmt.Errorf("needs %s: %w", bin, err))
		}
	}
	if slices.Contains(o.targets, "kamailio") {
		if _, err := os.Stat(o.kamailioBin); err != nil {
			fail(fmt.Errorf("needs Kamailio (apt-get install -y kamailio): %w", err))
		}
	}
	if o.capture {
		if _, err := os.Stat(o.dumpcapBin); err != nil {
			fmt.Fprintf(os.Stderr, "cps: %s not found: no setup latency (apt-get install -y wireshark-common)\n", o.dumpcapBin)
			o.capture = false
		}
	}
	// SIPp runs in per-step directories: paths must be absolute.
	for _, p := range []*string{&o.scenarioDir, &o.tandemBin, &o.results, &o.profileDir} {
		if *p != "" {
			if a, err := filepath.Abs(*p); err == nil {
				*p = a
			}
		}
	}
	b, err := newBench(o)
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = b.run(ctx)
	b.close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cps: %v (logs in %s)\n", err, b.dir)
		os.Exit(1)
	}
	if o.dir == "" {
		_ = os.RemoveAll(b.dir)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cps:", err)
	os.Exit(2)
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 || v > 20000 {
			return nil, fmt.Errorf("bad value %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// bench is one benchmark session: the webhook, the systems under test and
// the results so far.
type bench struct {
	o       options
	dir     string
	pinSUT  string // CPU list for the system under test ("" unpinned)
	hook    *webhook
	tandem  *tandem
	kam     *kamailio
	uasPort int
	step    int
	results []stepResult
	held    []heldResult
	idleCPU map[string]float64 // CPU per second while idle, by target
	start   time.Time
	mu      sync.Mutex
}

func newBench(o options) (*bench, error) {
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "bench-cps-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b := &bench{o: o, dir: dir, idleCPU: map[string]float64{}, start: time.Now()}
	if o.pin == "split" {
		b.pinSUT = "1"
	}
	return b, nil
}

func (b *bench) close() {
	if b.tandem != nil {
		b.tandem.stop(syscall.SIGINT, 10*time.Second)
	}
	if b.kam != nil {
		b.kam.stop(syscall.SIGTERM, 10*time.Second)
	}
	if b.hook != nil {
		b.hook.close()
	}
}

func (b *bench) run(ctx context.Context) error {
	fmt.Printf("cps: %s; pin=%s; load average %s; work dir %s\n", machine(), b.o.pin, loadAvg(), b.dir)
	var err error
	if b.hook, err = startWebhook(); err != nil {
		return err
	}
	if b.uasPort, err = freePort("udp"); err != nil {
		return err
	}
	b.hook.setCallee(fmt.Sprintf("sip:bob@127.0.0.1:%d", b.uasPort), b.o.answerOnBridge)
	for _, t := range b.o.targets {
		if err := b.startTarget(t, "ladder"); err != nil {
			return err
		}
	}
	// Warm up (not measured): pools, caches, the store's first pages.
	for _, t := range b.o.targets {
		if _, err := b.runStep(ctx, t, 100, 3*time.Second, false); err != nil {
			return fmt.Errorf("warm-up %s: %w", t, err)
		}
		b.idleCPU[t] = b.measureIdle(t)
	}
	fmt.Println()
	printHeader()
	for _, rate := range b.o.rates {
		for run := 1; run <= b.o.runs; run++ {
			for _, t := range b.o.targets {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r, err := b.runStep(ctx, t, rate, b.o.duration, true)
				if err != nil {
					return fmt.Errorf("%s at %d calls/s: %w", t, rate, err)
				}
				r.run = run
				printRow(r)
				b.results = append(b.results, r)
			}
		}
	}
	printSummary(os.Stdout, b.results, b.o.targets)
	if b.o.holdCalls > 0 && slices.Contains(b.o.targets, "tandem") && ctx.Err() == nil {
		if b.kam != nil {
			b.kam.stop(syscall.SIGTERM, 10*time.Second)
			b.kam = nil
		}
		for _, rt := range b.o.holdRuntimes {
			// A fresh daemon each time, so that no earlier heap counts.
			b.tandem.stop(syscall.SIGINT, 10*time.Second)
			b.tandem = nil
			if err := b.startTandem("hold", rt); err != nil {
				return err
			}
			h, err := b.runHold(ctx)
			if err != nil {
				return fmt.Errorf("held calls: %w", err)
			}
			h.runtime = rt
			b.held = append(b.held, h)
			fmt.Println(h.String())
		}
	}
	if b.o.results != "" {
		if err := writeResults(b.o.results, b); err != nil {
			return err
		}
		fmt.Printf("results written to %s\n", b.o.results)
	}
	return nil
}

func (b *bench) startTarget(t, tag string) error {
	var err error
	switch t {
	case "tandem":
		return b.startTandem(tag, runtimeSettings{gcPercent: b.o.gcPercent, memoryLimit: b.o.memoryLimit})
	case "kamailio":
		b.kam, err = startKamailio(b.o.kamailioBin, filepath.Join(b.o.scenarioDir, "kamailio.cfg"),
			filepath.Join(b.dir, "kamailio-"+tag), b.o.kamChildren, b.uasPort, b.pinSUT)
		return err
	}
	return fmt.Errorf("unknown target %q", t)
}

// runtimeSettings are the daemon's runtime.gc_percent and
// runtime.memory_limit (0 and "": the Go defaults).
type runtimeSettings struct {
	gcPercent   int
	memoryLimit string
}

func (r runtimeSettings) String() string {
	if r.gcPercent == 0 && r.memoryLimit == "" {
		return "Go defaults (GOGC 100, no limit)"
	}
	gc, lim := "100", "none"
	if r.gcPercent != 0 {
		gc = strconv.Itoa(r.gcPercent)
	}
	if r.memoryLimit != "" {
		lim = r.memoryLimit
	}
	return fmt.Sprintf("gc_percent %s, memory_limit %s", gc, lim)
}

// parseRuntimes reads "GC/LIMIT,GC/LIMIT" ("default" for the Go defaults).
func parseRuntimes(s string) ([]runtimeSettings, error) {
	var out []runtimeSettings
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f == "default" {
			out = append(out, runtimeSettings{})
			continue
		}
		gc, lim, _ := strings.Cut(f, "/")
		v, err := strconv.Atoi(gc)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad runtime %q (want GC/LIMIT, e.g. 400/512MiB, or default)", f)
		}
		out = append(out, runtimeSettings{gcPercent: v, memoryLimit: lim})
	}
	return out, nil
}

func (b *bench) startTandem(tag string, rt runtimeSettings) error {
	var err error
	b.tandem, err = startTandem(tandemOptions{
		binary: b.o.tandemBin, dir: filepath.Join(b.dir, "tandem-"+tag), pin: b.pinSUT,
		sipSockets: b.o.sipSockets, memoryLimit: rt.memoryLimit, gcPercent: rt.gcPercent, gctrace: true,
	})
	if err != nil {
		return err
	}
	return b.tandem.provision(b.hook.url())
}

// sut returns the port, CPU and memory readers of a target.
func (b *bench) sut(t string) (port int, cpu func() float64, mem func() int64) {
	if t == "tandem" {
		pid := b.tandem.pid()
		return b.tandem.sipPort, func() float64 { v, _ := procCPU(pid); return v }, func() int64 { return rssBytes(pid) }
	}
	return b.kam.port, b.kam.cpu, b.kam.mem
}

func (b *bench) measureIdle(t string) float64 {
	_, cpu, _ := b.sut(t)
	c0 := cpu()
	time.Sleep(3 * time.Second)
	return (cpu() - c0) / 3
}

// waitQuiet waits until the target carries no call (tandem) and its
// finished transactions have expired.
func (b *bench) waitQuiet(t string) {
	if t == "tandem" {
		deadline := time.Now().Add(90 * time.Second)
		for b.tandem.activeCalls() > 0 && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
		}
	}
	time.Sleep(2 * time.Second)
}

// stepResult is one measured step.
type stepResult struct {
	target          string
	rate, run       int
	calls           int // asked of SIPp
	attempted       int // created by SIPp
	ok, failed      int
	failPct         float64
	retrans         int
	cpu             float64 // seconds
	usPerCall       float64
	memMB, memMaxMB float64
	gc              gcTotals
	gcShare         float64
	lat             latencies
	sippP50         float64
	sippP99         float64
	load            string
	webhookReqs     int64
	genCPU          float64 // SIPp UAC and UAS and dumpcap, seconds
	hookCPU         float64 // the webhook server (this process), seconds
	others          float64 // cores used by unrelated processes during the step
	othersBefore    float64 // the same, measured just before the step
}

// injection writes a SIPp -inf file of distinct media addresses
// (127.A.x.y;port): a relay keys flows by the peer's address, and a
// released address stays quarantined for media.drain_period, so each step
// gets addresses of its own.
func (b *bench) injection(name string, a, lines int) (string, error) {
	lines = max(1000, min(lines, 250*250))
	var sb strings.Builder
	sb.WriteString("SEQUENTIAL\n")
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&sb, "127.%d.%d.%d;%d\n", a, i/250, i%250+1, 20000+2*(i%1000))
	}
	p := filepath.Join(b.dir, name)
	return p, os.WriteFile(p, []byte(sb.String()), 0o644)
}

func (b *bench) sippArgs(inf string) []string {
	return []string{"-inf", inf, "-max_recv_loops", "10000", "-buff_size", "8388608"}
}

// othersCPU measures, over window, the CPU used on the machine by
// processes that are not part of the benchmark (other engineers' work), in
// cores.
func (b *bench) othersCPU(t string, window time.Duration) float64 {
	_, cpu, _ := b.sut(t)
	busy0, _ := machineBusy()
	c0, s0, ch0 := cpu(), selfCPU(), childrenCPU()
	time.Sleep(window)
	busy1, _ := machineBusy()
	ours := (cpu() - c0) + (selfCPU() - s0) + (childrenCPU() - ch0)
	return max(0, (busy1-busy0-ours)/window.Seconds())
}

// waitForQuiet waits (bounded by -quiet-wait) until other processes use
// less than -quiet-cores of CPU, so that steps run in the machine's quiet
// moments; it returns the last reading.
func (b *bench) waitForQuiet(ctx context.Context, t string) float64 {
	deadline := time.Now().Add(b.o.quietWait)
	for {
		o := b.othersCPU(t, time.Second)
		if o <= b.o.quietCores || time.Now().After(deadline) || ctx.Err() != nil {
			return o
		}
	}
}

// runStep drives one rate for dur through target t.
func (b *bench) runStep(ctx context.Context, t string, rate int, dur time.Duration, measure bool) (stepResult, error) {
	b.waitQuiet(t)
	r := stepResult{target: t, rate: rate, calls: rate * int(dur/time.Second)}
	if measure {
		r.othersBefore = b.waitForQuiet(ctx, t)
	}
	r.load = loadAvg()
	b.step++
	stepDir := filepath.Join(b.dir, fmt.Sprintf("step%03d-%s-%d", b.step, t, rate))
	if err := os.MkdirAll(stepDir, 0o755); err != nil {
		return r, err
	}
	oct := 1 + 2*(b.step%120)
	uacInf, err := b.injection(fmt.Sprintf("uac-%d.csv", b.step), oct, r.calls+100)
	if err != nil {
		return r, err
	}
	uasInf, err := b.injection(fmt.Sprintf("uas-%d.csv", b.step), oct+1, r.calls+100)
	if err != nil {
		return r, err
	}
	port, cpu, mem := b.sut(t)
	// One window for every CPU reading of the step: the system under test,
	// the load generators (children, counted when reaped), this process
	// (the webhook) and the whole machine.
	busy0, _ := machineBusy()
	t0, cpu0, self0, child0 := time.Now(), cpu(), selfCPU(), childrenCPU()
	uas, err := sipptest.Start(ctx, sipptest.Config{
		Scenario: filepath.Join(b.o.scenarioDir, "uas.xml"), Port: b.uasPort, Dir: stepDir,
		Timeout: dur + 150*time.Second, Args: b.sippArgs(uasInf),
	})
	if err != nil {
		return r, fmt.Errorf("start UAS: %w", err)
	}
	defer uas.Stop()
	var capt *capture
	if measure && b.o.capture {
		if capt, err = startCapture(b.o.dumpcapBin, filepath.Join(stepDir, "setup.pcap"), port); err != nil {
			return r, err
		}
		defer capt.finish()
	}
	if t == "tandem" {
		b.tandem.gcSince() // skip what came before
		b.hook.take()
	}
	reqs0 := b.hook.requests.Load()
	profiling := measure && t == "tandem" && b.o.profileDir != "" && slices.Contains(b.o.profileRates, rate)
	var profWG sync.WaitGroup
	if profiling {
		_ = os.MkdirAll(b.o.profileDir, 0o755)
		_ = b.tandem.fetch("/debug/pprof/allocs", filepath.Join(b.o.profileDir, fmt.Sprintf("allocs-%d-base.pprof", rate)))
		secs := max(1, int(dur/time.Second)-4)
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			time.Sleep(2 * time.Second)
			_ = b.tandem.fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), filepath.Join(b.o.profileDir, fmt.Sprintf("cpu-%d.pprof", rate)))
			// What is live while calls run (after a collection).
			_ = b.tandem.fetch("/debug/pprof/heap?gc=1", filepath.Join(b.o.profileDir, fmt.Sprintf("heap-%d.pprof", rate)))
		}()
	}
	uac, err := sipptest.Start(ctx, sipptest.Config{
		Scenario: filepath.Join(b.o.scenarioDir, "uac.xml"), Remote: fmt.Sprintf("127.0.0.1:%d", port),
		Calls: r.calls, Rate: float64(rate), Limit: rate * 4, Dir: stepDir, Timeout: dur + 60*time.Second,
		Args: append(b.sippArgs(uacInf), "-d", "1000", "-s", benchDID, "-recv_timeout", "10000", "-trace_rtt", "-rtt_freq", "100"),
	})
	if err != nil {
		return r, fmt.Errorf("start UAC: %w", err)
	}
	// Memory is sampled while the calls run.
	memDone := make(chan struct{})
	var memMax int64
	var memWG sync.WaitGroup
	memWG.Add(1)
	go func() {
		defer memWG.Done()
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-memDone:
				return
			case <-tk.C:
				memMax = max(memMax, mem())
			}
		}
	}()
	res, werr := uac.Wait()
	close(memDone)
	memWG.Wait()
	if !measure {
		return r, werr
	}
	// Deferred work (transaction timers, the collector) belongs to the calls.
	time.Sleep(b.o.tail)
	uas.Stop()
	if capt != nil {
		capt.finish()
	}
	elapsed := time.Since(t0).Seconds()
	busy1, _ := machineBusy()
	r.cpu = cpu() - cpu0
	r.genCPU = childrenCPU() - child0
	self := selfCPU() - self0
	r.hookCPU = self
	r.others = max(0, (busy1-busy0-r.cpu-r.genCPU-self)/elapsed)
	r.memMB = float64(mem()) / (1 << 20)
	r.memMaxMB = float64(max(memMax, mem())) / (1 << 20)
	profWG.Wait()
	if profiling {
		_ = b.tandem.fetch("/debug/pprof/allocs", filepath.Join(b.o.profileDir, fmt.Sprintf("allocs-%d.pprof", rate)))
	}
	if werr != nil && res.Stats == nil {
		return r, fmt.Errorf("UAC: %w", werr)
	}
	r.attempted, _ = strconv.Atoi(res.Stats["OutGoingCallCreated(C)"])
	if r.attempted == 0 {
		r.attempted = res.Successful + res.Failed
	}
	r.ok, r.retrans = res.Successful, res.Retransmissions
	r.failed = r.calls - r.ok
	r.failPct = 100 * float64(r.failed) / float64(r.calls)
	if r.ok > 0 {
		r.usPerCall = r.cpu * 1e6 / float64(r.ok)
	}
	rtt := sippRTT(filepath.Join(stepDir, fmt.Sprintf("uac_%d_rtt.csv", uac.PID())))
	r.sippP50, r.sippP99 = percentile(rtt, 50), percentile(rtt, 99)
	var hook map[int]time.Duration
	if t == "tandem" {
		r.gc = b.tandem.gcSince()
		if r.cpu > 0 {
			r.gcShare = 100 * r.gc.cpu / r.cpu
		}
		hook = b.hook.take()
		r.webhookReqs = b.hook.requests.Load() - reqs0
	}
	if capt != nil {
		calls, err := parseCapture(capt.path, port, int(uac.Addr().Port()), b.uasPort)
		if err != nil {
			return r, fmt.Errorf("capture: %w", err)
		}
		r.lat = summarise(calls, hook)
		if !b.o.keepCaptures {
			_ = os.Remove(capt.path) // large; the figures are kept
		}
	}
	return r, nil
}

// heldResult is the memory of many calls held at once.
type heldResult struct {
	target                string
	want, held            int
	idleRSS, heldRSS      int64
	heldRSSAfterGC        int64
	heapIdle, heapHeld    float64
	goroutines0, goroutns float64
	ok, failed            int
	load                  string
	rate                  int
	holdFor               time.Duration
	runtime               runtimeSettings
	liveMB                float64 // heap live after the forced collection (gctrace)
	stacksMB              float64
	idleLiveMB            float64
	idleStacksMB          float64
}

// livePerCall is the Go heap and goroutine stacks a held call keeps, in
// KiB: what the call costs before any collector headroom.
func (h heldResult) livePerCall() float64 {
	if h.held == 0 {
		return 0
	}
	return (h.liveMB + h.stacksMB - h.idleLiveMB - h.idleStacksMB) * 1024 / float64(h.held)
}

func (h heldResult) perCall(rss int64) float64 {
	if h.held == 0 {
		return 0
	}
	return float64(rss-h.idleRSS) / float64(h.held) / 1024
}

func (h heldResult) String() string {
	return fmt.Sprintf("held calls (%s): %d of %d up; RSS idle %.1f MB, held %.1f MB (%.1f KiB/call), after a forced GC %.1f MB (%.1f KiB/call); Go heap in use %.1f → %.1f MB; goroutines %.0f → %.0f; SIPp ok=%d failed=%d",
		h.runtime, h.held, h.want, mb(h.idleRSS), mb(h.heldRSS), h.perCall(h.heldRSS), mb(h.heldRSSAfterGC), h.perCall(h.heldRSSAfterGC),
		h.heapIdle/(1<<20), h.heapHeld/(1<<20), h.goroutines0, h.goroutns, h.ok, h.failed)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// runHold sets up holdCalls calls at holdRate through tandem, holds them,
// and measures the daemon's RSS with all of them up against its RSS idle.
func (b *bench) runHold(ctx context.Context) (heldResult, error) {
	h := heldResult{target: "tandem", want: b.o.holdCalls, rate: b.o.holdRate}
	// Warm up like the ladder did, then measure idle.
	if _, err := b.runStep(ctx, "tandem", 100, 2*time.Second, false); err != nil {
		return h, err
	}
	b.waitQuiet("tandem")
	time.Sleep(3 * time.Second)
	b.tandem.gcSince()
	b.tandem.forceGC()
	time.Sleep(time.Second)
	pid := b.tandem.pid()
	h.idleRSS = rssBytes(pid)
	if g := b.tandem.gcSince(); g.cycles > 0 {
		h.idleLiveMB, h.idleStacksMB = g.lastLive, g.lastStacks
	}
	m0, _ := b.tandem.metrics("go_memstats_heap_inuse_bytes", "go_goroutines")
	h.heapIdle, h.goroutines0 = m0["go_memstats_heap_inuse_bytes"], m0["go_goroutines"]

	b.step++
	stepDir := filepath.Join(b.dir, fmt.Sprintf("step%03d-hold", b.step))
	if err := os.MkdirAll(stepDir, 0o755); err != nil {
		return h, err
	}
	oct := 1 + 2*(b.step%120)
	uacInf, err := b.injection("uac-hold.csv", oct, h.want+100)
	if err != nil {
		return h, err
	}
	uasInf, err := b.injection("uas-hold.csv", oct+1, h.want+100)
	if err != nil {
		return h, err
	}
	ramp := time.Duration(float64(h.want)/float64(h.rate)*float64(time.Second)) + time.Second
	h.holdFor = ramp + b.o.holdFor
	uas, err := sipptest.Start(ctx, sipptest.Config{
		Scenario: filepath.Join(b.o.scenarioDir, "uas.xml"), Port: b.uasPort, Dir: stepDir,
		Timeout: h.holdFor + ramp + 120*time.Second, Args: b.sippArgs(uasInf),
	})
	if err != nil {
		return h, fmt.Errorf("start UAS: %w", err)
	}
	defer uas.Stop()
	h.load = loadAvg()
	uac, err := sipptest.Start(ctx, sipptest.Config{
		Scenario: filepath.Join(b.o.scenarioDir, "uac.xml"), Remote: fmt.Sprintf("127.0.0.1:%d", b.tandem.sipPort),
		Calls: h.want, Rate: float64(h.rate), Limit: h.want + 100, Dir: stepDir, Timeout: h.holdFor + ramp + 60*time.Second,
		Args: append(b.sippArgs(uacInf), "-d", strconv.Itoa(int(h.holdFor/time.Millisecond)), "-s", benchDID, "-recv_timeout", "20000"),
	})
	if err != nil {
		return h, fmt.Errorf("start UAC: %w", err)
	}
	// Wait for the calls to be up (each is an inbound and an outbound leg).
	deadline := time.Now().Add(ramp + 15*time.Second)
	for time.Now().Before(deadline) {
		m, _ := b.tandem.metrics("tandem_sip_inbound_calls_active")
		if int(m["tandem_sip_inbound_calls_active"]) >= h.want {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Let the set-up transactions expire (transaction_linger 4 s).
	time.Sleep(6 * time.Second)
	m, _ := b.tandem.metrics("tandem_sip_inbound_calls_active", "go_memstats_heap_inuse_bytes", "go_goroutines")
	h.held = int(m["tandem_sip_inbound_calls_active"])
	h.heldRSS = rssBytes(pid)
	h.heapHeld, h.goroutns = m["go_memstats_heap_inuse_bytes"], m["go_goroutines"]
	b.tandem.gcSince()
	b.tandem.forceGC()
	time.Sleep(2 * time.Second)
	h.heldRSSAfterGC = rssBytes(pid)
	if g := b.tandem.gcSince(); g.cycles > 0 {
		h.liveMB, h.stacksMB = g.lastLive, g.lastStacks
	}
	if b.o.profileDir != "" {
		_ = os.MkdirAll(b.o.profileDir, 0o755)
		_ = b.tandem.fetch("/debug/pprof/heap", filepath.Join(b.o.profileDir, "heap-held.pprof"))
		_ = b.tandem.fetch("/debug/pprof/goroutine", filepath.Join(b.o.profileDir, "goroutine-held.pprof"))
	}
	res, err := uac.Wait()
	h.ok, h.failed = res.Successful, res.Failed
	if err != nil && res.Stats == nil {
		return h, fmt.Errorf("UAC: %w", err)
	}
	return h, nil
}
