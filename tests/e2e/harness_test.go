// Package e2e drives the real tandem binary end to end: SIPp as carrier and
// callee, httptest servers as the applications' webhooks, the twilio-go
// client against the control API, and UDP sockets counting RTP at both ends.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"

	"tandem/control/controltest"
	"tandem/internal/sipptest"
)

const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "e2e0auth0token0for0the0main0acct"
)

var tandemBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tandem-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tandemBin = filepath.Join(dir, "tandem")
	if out, err := exec.Command("go", "build", "-o", tandemBin, "tandem/cmd/tandem").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build tandem: %v\n%s", err, out)
		os.Exit(1)
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		fmt.Fprintln(os.Stderr, "SIPp not found: install Debian's sip-tester (.ci/run does)")
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeTCP(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPPair returns a UDP port that was free with its neighbour (an RTP
// and RTCP pair).
func freeUDP(t *testing.T) int {
	t.Helper()
	p, err := sipptest.FreePort("udp", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tandem is a running daemon under test.
type tandem struct {
	t       *testing.T
	cmd     *exec.Cmd
	dir     string
	sipPort int
	api     string
	admin   string
	mu      sync.Mutex
	logs    bytes.Buffer
	exited  chan struct{}
	client  *twilio.RestClient
	http    *http.Client
	// stopped is set when the test itself ended the daemon.
	stopped bool
}

type daemonOptions struct {
	// trunkPort is where E.164 numbers with prefix +1555 are sent (a SIPp
	// UAS), 0 for none.
	trunkPort int
	extraYAML string
}

// startTandem runs the binary on free loopback ports with a fresh store and
// waits until it is ready; it is stopped (SIGTERM, exit 0 expected) at the
// end of the test, after the leak check.
func startTandem(t *testing.T, o daemonOptions) *tandem {
	t.Helper()
	d := &tandem{t: t, dir: t.TempDir(), exited: make(chan struct{})}
	d.sipPort = freeUDP(t)
	d.api = fmt.Sprintf("127.0.0.1:%d", freeTCP(t))
	d.admin = fmt.Sprintf("127.0.0.1:%d", freeTCP(t))
	m1, m2 := freeUDP(t), freeUDP(t)
	for m2 == m1 {
		m2 = freeUDP(t)
	}
	// Dedicated media ports: a window below the ephemeral range, random
	// so that parallel runs rarely meet.
	dmin := 20000 + rand.IntN(120)*100
	trunks := "[]"
	if o.trunkPort != 0 {
		trunks = fmt.Sprintf(`[{name: pstn, uri: "sip:127.0.0.1:%d", prefixes: ["+1555"]}]`, o.trunkPort)
	}
	cfg := fmt.Sprintf(`data_dir: %s
log:
  level: debug
admin:
  listen: %s
api:
  listen: %s
shutdown:
  http_timeout: 2s
  drain_timeout: 2s
sip:
  listen:
    - {transport: udp, address: "127.0.0.1:%d", sockets: 2}
    - {transport: tcp, address: "127.0.0.1:%d"}
  inbound_trunks: [{name: carrier, cidrs: ["127.0.0.1/32"]}]
  outbound_trunks: %s
media:
  interfaces: [{name: lo, bind_ip: 127.0.0.1, shared_ports: [%d, %d]}]
  dedicated_port_min: %d
  dedicated_port_max: %d
  workers: 1
  media_timeout: 20s
  drain_period: 1s
%s`, d.dir, d.admin, d.api, d.sipPort, d.sipPort, trunks, m1, m2, dmin, dmin+99, o.extraYAML)
	path := filepath.Join(d.dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(tandemBin, "-config", path)
	d.cmd.Env = append(os.Environ(), "TANDEM_ACCOUNT_SID="+testAccountSID, "TANDEM_AUTH_TOKEN="+testAuthToken)
	w := &lockedWriter{mu: &d.mu, w: &d.logs}
	d.cmd.Stdout, d.cmd.Stderr = w, w
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(d.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + d.admin + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-d.exited:
			t.Fatalf("tandem exited during start:\n%s", d.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tandem not ready:\n%s", d.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	hc, err := controltest.HTTPClient("http://" + d.api)
	if err != nil {
		t.Fatal(err)
	}
	d.http = hc
	c := &client.Client{Credentials: client.NewCredentials(testAccountSID, testAuthToken), HTTPClient: hc}
	c.SetAccountSid(testAccountSID)
	d.client = twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	return d
}

func (d *tandem) Logs() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

// sipAddr is where tandem takes SIP.
func (d *tandem) sipAddr() string { return fmt.Sprintf("127.0.0.1:%d", d.sipPort) }

// stop checks that nothing is left (calls, dialogs, media), then sends
// SIGTERM and expects exit 0.
func (d *tandem) stop() {
	t := d.t
	select {
	case <-d.exited:
		if !t.Failed() && !d.stopped {
			t.Errorf("tandem exited during the test:\n%s", d.Logs())
		}
		return
	default:
	}
	if !t.Failed() {
		d.checkNoLeaks()
	}
	if d.http != nil {
		d.http.CloseIdleConnections()
	}
	// SIGTERM drains: with no calls left it exits at once, with 0.
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		if code := d.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("tandem exit code %d after SIGTERM, want 0", code)
		}
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		t.Errorf("tandem did not stop within 10s")
	}
	if t.Failed() {
		logs := d.Logs()
		if len(logs) > 60000 {
			logs = logs[len(logs)-60000:]
		}
		t.Logf("tandem log:\n%s", logs)
	}
}

// metric returns the value of an unlabelled metric from /metrics.
func (d *tandem) metric(name string) (float64, bool) {
	resp, err := http.Get("http://" + d.admin + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, name)), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// checkNoLeaks waits for every call, dialog and media session to be gone.
func (d *tandem) checkNoLeaks() {
	d.t.Helper()
	gauges := []string{
		"tandem_calls_active_calls",
		"tandem_sip_dialogs_active",
		"tandem_sip_inbound_calls_active",
		"tandem_sip_outbound_calls_active",
		"tandem_media_sessions",
		"tandem_media_legs",
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []string
		for _, g := range gauges {
			v, ok := d.metric(g)
			if !ok {
				d.t.Errorf("metric %s missing", g)
				return
			}
			if v != 0 {
				left = append(left, fmt.Sprintf("%s=%v", g, v))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			d.t.Errorf("leak after the test's calls ended: %s", strings.Join(left, " "))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
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

// waitUntil polls cond until it holds or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
