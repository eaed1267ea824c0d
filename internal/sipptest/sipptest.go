// Package sipptest runs SIPp (Debian's sip-tester, /usr/bin/sipp) as a real
// SIP peer in tests: start it with a scenario on a free loopback port, wait
// until it listens, then collect its exit status and call statistics.
//
//	uas, err := sipptest.Start(ctx, sipptest.Config{Scenario: "testdata/sipp/uas.xml", Calls: 1, Dir: t.TempDir()})
//	// ... point a call at uas.Addr() ...
//	res, err := uas.Wait()
//	if !res.OK() { t.Fatalf("sipp: %v", res) }
package sipptest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config says how to run SIPp.
type Config struct {
	// Scenario is the path of the XML scenario (-sf).
	Scenario string
	// Remote is the host:port to call (UAC scenarios); empty for a UAS.
	Remote string
	// Transport is "udp" (default) or "tcp".
	Transport string
	// LocalIP is the address SIPp binds and advertises (default 127.0.0.1).
	LocalIP string
	// Port is SIPp's SIP port; 0 probes a free one.
	Port int
	// Calls ends SIPp after this many calls (-m). 0 means run until Stop.
	Calls int
	// Rate is the call rate in calls per second (-r); 0 leaves SIPp's default.
	Rate float64
	// Limit caps simultaneous calls (-l).
	Limit int
	// Timeout is SIPp's global timeout (-timeout) and the point where Wait
	// kills it; default 60s.
	Timeout time.Duration
	// Vars are scenario variables (-set name value).
	Vars map[string]string
	// Args are extra command-line arguments.
	Args []string
	// Dir receives SIPp's logs and statistics (use t.TempDir()). Required.
	Dir string
	// Binary is the SIPp executable (default /usr/bin/sipp).
	Binary string
}

// Process is a running SIPp.
type Process struct {
	cfg     Config
	cmd     *exec.Cmd
	addr    netip.AddrPort
	statf   string
	errf    string
	outf    string
	done    chan struct{}
	waitErr error
}

// Result is how a SIPp run ended.
type Result struct {
	// ExitCode is SIPp's: 0 every call succeeded, 1 some failed, 97 stopped
	// by command, 99 no call processed, 255 fatal error, 254 bind failure,
	// -1 killed by Wait's timeout or Stop.
	ExitCode   int
	Successful int
	Failed     int
	// Retransmissions counts messages SIPp sent more than once.
	Retransmissions int
	// Stats is the last row of SIPp's statistics file, by column name
	// (see "sipp -h stat").
	Stats map[string]string
	// Errors is the tail of SIPp's error log (unexpected messages).
	Errors string
}

// OK reports whether SIPp exited 0 with at least one successful call and no
// failed one.
func (r Result) OK() bool { return r.ExitCode == 0 && r.Failed == 0 && r.Successful > 0 }

func (r Result) String() string {
	return fmt.Sprintf("exit=%d successful=%d failed=%d retransmissions=%d errors=%q", r.ExitCode, r.Successful, r.Failed, r.Retransmissions, r.Errors)
}

// Start launches SIPp. For a UAS (no Remote) it returns once SIPp listens.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	if cfg.Dir == "" {
		return nil, errors.New("sipptest: Config.Dir is required")
	}
	if cfg.LocalIP == "" {
		cfg.LocalIP = "127.0.0.1"
	}
	if cfg.Transport == "" {
		cfg.Transport = "udp"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Binary == "" {
		cfg.Binary = "/usr/bin/sipp"
	}
	var lastErr error
	for try := 0; try < 3; try++ {
		p, err := start(ctx, cfg)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if cfg.Port != 0 {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, cfg Config) (*Process, error) {
	port := cfg.Port
	if port == 0 {
		var err error
		if port, err = FreePort(cfg.Transport, cfg.LocalIP); err != nil {
			return nil, err
		}
	}
	ip, err := netip.ParseAddr(cfg.LocalIP)
	if err != nil {
		return nil, fmt.Errorf("sipptest: local ip: %w", err)
	}
	p := &Process{cfg: cfg, addr: netip.AddrPortFrom(ip, uint16(port)), done: make(chan struct{})}
	base := filepath.Join(cfg.Dir, fmt.Sprintf("sipp-%s-%d", strings.TrimSuffix(filepath.Base(cfg.Scenario), ".xml"), port))
	p.statf, p.errf, p.outf = base+"-stat.csv", base+"-errors.log", base+"-out.log"

	tmode := "u1"
	if cfg.Transport == "tcp" {
		tmode = "t1"
	}
	args := []string{
		"-sf", cfg.Scenario, "-i", cfg.LocalIP, "-p", strconv.Itoa(port), "-t", tmode,
		"-nostdin", "-trace_stat", "-stf", p.statf, "-fd", "1",
		"-trace_err", "-error_file", p.errf,
		"-timeout", strconv.Itoa(int(cfg.Timeout.Seconds())) + "s", "-timeout_error",
	}
	if cfg.Calls > 0 {
		args = append(args, "-m", strconv.Itoa(cfg.Calls))
	}
	if cfg.Rate > 0 {
		// -r calls per -rp milliseconds; a fractional rate is spread over 10 s.
		if cfg.Rate == float64(int(cfg.Rate)) {
			args = append(args, "-r", strconv.Itoa(int(cfg.Rate)), "-rp", "1000")
		} else {
			args = append(args, "-r", strconv.Itoa(int(cfg.Rate*10+0.5)), "-rp", "10000")
		}
	}
	if cfg.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(cfg.Limit))
	}
	for k, v := range cfg.Vars {
		args = append(args, "-set", k, v)
	}
	args = append(args, cfg.Args...)
	if cfg.Remote != "" {
		args = append(args, cfg.Remote)
	}
	out, err := os.Create(p.outf)
	if err != nil {
		return nil, fmt.Errorf("sipptest: %w", err)
	}
	p.cmd = exec.Command(cfg.Binary, args...)
	p.cmd.Dir = cfg.Dir
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("sipptest: start sipp: %w", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	go func() {
		// Bounded life: kill SIPp a little after its own global timeout.
		t := time.NewTimer(cfg.Timeout + 5*time.Second)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			p.kill()
		}
	}()
	if cfg.Remote == "" {
		if err := p.waitListening(ctx); err != nil {
			p.kill()
			<-p.done
			return nil, err
		}
	}
	return p, nil
}

// Addr is where SIPp listens.
func (p *Process) Addr() netip.AddrPort { return p.addr }

// PID is SIPp's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

func (p *Process) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Stop ends a SIPp that runs until stopped (SIGUSR1 asks it to quit
// gracefully and write its statistics; it is killed after 3 s).
func (p *Process) Stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.kill()
		<-p.done
	}
}

// Wait waits for SIPp to exit and reads its statistics.
func (p *Process) Wait() (Result, error) {
	<-p.done
	r := Result{ExitCode: -1}
	var ee *exec.ExitError
	switch {
	case p.waitErr == nil:
		r.ExitCode = 0
	case errors.As(p.waitErr, &ee):
		r.ExitCode = ee.ExitCode()
	}
	stats, err := readStats(p.statf)
	if err == nil {
		r.Stats = stats
		r.Successful, _ = strconv.Atoi(stats["SuccessfulCall(C)"])
		r.Failed, _ = strconv.Atoi(stats["FailedCall(C)"])
		r.Retransmissions, _ = strconv.Atoi(stats["Retransmissions(C)"])
	}
	if b, e := os.ReadFile(p.errf); e == nil {
		if len(b) > 2000 {
			b = b[len(b)-2000:]
		}
		r.Errors = string(b)
	}
	if err != nil {
		out, _ := os.ReadFile(p.outf)
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		return r, fmt.Errorf("sipptest: statistics %s: %w (output: %s)", p.statf, err, out)
	}
	return r, nil
}

// readStats returns the last row of a SIPp statistics file by column.
func readStats(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var head, last []string
	for sc.Scan() {
		cols := strings.Split(strings.TrimRight(sc.Text(), ";"), ";")
		if head == nil {
			head = cols
			continue
		}
		last = cols
	}
	if head == nil || last == nil {
		return nil, errors.New("no statistics rows")
	}
	m := make(map[string]string, len(head))
	for i, h := range head {
		if i < len(last) {
			m[h] = last[i]
		}
	}
	return m, nil
}

func (p *Process) waitListening(ctx context.Context) error {
	file, state := "/proc/net/udp", ""
	if p.cfg.Transport == "tcp" {
		file, state = "/proc/net/tcp", "0A"
	}
	if p.addr.Addr().Is6() {
		file += "6"
	}
	want := fmt.Sprintf(":%04X", p.addr.Port())
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			out, _ := os.ReadFile(p.outf)
			return fmt.Errorf("sipptest: sipp exited before listening: %s", tail(out))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if listening(file, want, state) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sipptest: sipp not listening on %s after 10s", p.addr)
}

func tail(b []byte) string {
	if len(b) > 1000 {
		b = b[len(b)-1000:]
	}
	return string(b)
}

// listening looks for a local port in a /proc/net table.
func listening(file, port, state string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasSuffix(f[1], port) {
			continue
		}
		if state == "" || f[3] == state {
			return true
		}
	}
	return false
}

// FreePort returns a port that is free for transport on ip right now (for
// UDP and TCP both, so either kind of SIPp can take it).
func FreePort(transport, ip string) (int, error) {
	for i := 0; i < 20; i++ {
		u, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return 0, fmt.Errorf("sipptest: probe port: %w", err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		t, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		u.Close()
		if err != nil {
			continue
		}
		t.Close()
		return port, nil
	}
	return 0, errors.New("sipptest: no free port")
}
