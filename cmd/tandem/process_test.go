package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tandemBin is the daemon binary the process tests run, built once in
// TestMain from this package.
var tandemBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tandem-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tandemBin = filepath.Join(dir, "tandem")
	out, err := exec.Command("go", "build", "-o", tandemBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build tandem: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemonProc is a running tandem process under test.
type daemonProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	admin  string
	api    string
	dir    string
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	exited chan struct{}
	err    error
}

type procOptions struct {
	extraYAML string   // appended to the generated config
	env       []string // added to the environment
	dir       string   // data directory to reuse (empty: a new one)
}

// startDaemon runs the real binary on free loopback ports with its data in a
// temporary directory and waits until /ready answers 200.
func startDaemon(t *testing.T, o procOptions) *daemonProc {
	t.Helper()
	dir := o.dir
	if dir == "" {
		dir = t.TempDir()
	}
	p := &daemonProc{t: t, dir: dir, exited: make(chan struct{})}
	p.admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p.api = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := testConfigYAML(dir, p.admin, p.api) + o.extraYAML
	cfgPath := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(tandemBin, "-config", cfgPath)
	p.cmd.Env = append(os.Environ(), o.env...)
	p.cmd.Stdout = &lockedWriter{mu: &p.mu, w: &p.stdout}
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("tandem stdout:\n%s\ntandem stderr:\n%s", p.output(), p.logs())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("tandem exited during start: %v\n%s", p.err, p.logs())
		default:
		}
		resp, err := http.Get("http://" + p.admin + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tandem not ready after 20s\n%s", p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *daemonProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *daemonProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *daemonProc) signal(s os.Signal) {
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

// wait returns the exit code and how long the process took to exit, failing
// the test after limit.
func (p *daemonProc) wait(limit time.Duration) (code int, took time.Duration) {
	start := time.Now()
	select {
	case <-p.exited:
	case <-time.After(limit):
		p.t.Fatalf("tandem did not exit within %s\n%s", limit, p.logs())
	}
	took = time.Since(start)
	if p.err == nil {
		return 0, took
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode(), took
	}
	p.t.Fatalf("wait: %v", p.err)
	return -1, took
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestSystemdNotify runs the daemon as systemd would (Type=notify with a
// watchdog) and checks the datagrams it sends: READY=1 once listening,
// WATCHDOG=1 pings, STOPPING=1 on SIGTERM, then exit 0.
func TestSystemdNotify(t *testing.T) {
	sockPath := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()
	p := startDaemon(t, procOptions{env: []string{"NOTIFY_SOCKET=" + sockPath, "WATCHDOG_USEC=100000"}})

	expect := func(prefix string) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case m := <-got:
				if strings.HasPrefix(m, prefix) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q datagram from tandem", prefix)
			}
		}
	}
	expect("READY=1")
	expect("WATCHDOG=1")
	expect("WATCHDOG=1")
	p.signal(syscall.SIGTERM)
	expect("STOPPING=1")
	if code, _ := p.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// TestSIGINTStopsNow checks that SIGINT ends the daemon at once with exit 0.
func TestSIGINTStopsNow(t *testing.T) {
	p := startDaemon(t, procOptions{})
	p.signal(syscall.SIGINT)
	if code, _ := p.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0", code)
	}
	if !strings.Contains(p.logs(), "stopping now") {
		t.Errorf("SIGINT did not take the stop-now path:\n%s", p.logs())
	}
}

// TestAdminEndpoints checks /health, /ready, /metrics and /debug/pprof on
// the running daemon.
func TestAdminEndpoints(t *testing.T) {
	p := startDaemon(t, procOptions{})
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + p.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/health"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/health: %d %s", code, body)
	}
	if code, body := get("/ready"); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Errorf("/ready: %d %s", code, body)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, m := range metricsWanted {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if code, body := get("/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d", code)
	}
}

// metricsWanted are metric names every running daemon exports.
var metricsWanted = []string{"tandem_ready 1", "go_goroutines", "process_cpu_seconds_total"}

// TestSystemdUnitVerifies runs systemd-analyze verify on configs/tandem.service
// in a scratch root that holds the freshly built binary at the unit's
// ExecStart path, and checks its security exposure stays low.
func TestSystemdUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: install Debian's systemd package (.ci/run does)")
	}
	unit, err := os.ReadFile("../../configs/tandem.service")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, d := range []string{"usr/local/bin", "etc/systemd/system", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", tandemBin, filepath.Join(root, "usr/local/bin/tandem")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	// systemd-analyze resolves the unit's dependencies (multi-user.target,
	// network-online.target, sysinit.target) inside the root: give it the
	// host's unit directory.
	sysUnits := "/lib/systemd/system"
	if _, err := os.Stat(sysUnits); err != nil {
		sysUnits = "/usr/lib/systemd/system"
	}
	if out, err := exec.Command("cp", "-r", sysUnits, filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("cp units: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/systemd/system/tandem.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", "--root="+root, "tandem.service").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(sa, "security", "--offline=yes", "--root="+root, "--threshold=25", "tandem.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.5 or error: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Overall exposure level") {
			t.Log(sc.Text())
		}
	}
	for _, want := range []string{"Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n", "LimitNOFILE=", "User=tandem", "WatchdogSec="} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("tandem.service lacks %q", strings.TrimSpace(want))
		}
	}
}

// testConfigYAML is the config the process tests run with.
func testConfigYAML(dir, admin, api string) string {
	return fmt.Sprintf("data_dir: %s\nlog:\n  level: info\nadmin:\n  listen: %s\n", dir, admin)
}
