package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tandemOptions configure the daemon under test.
type tandemOptions struct {
	binary      string
	dir         string
	pin         string
	sipSockets  int
	memoryLimit string
	gcPercent   int
	gctrace     bool
}

// tandem is a running daemon with its addresses and credentials.
type tandem struct {
	*child
	opts     tandemOptions
	sipPort  int
	apiURL   string
	adminURL string
	sid      string
	token    string
	stderr   string
	gcOffset int64
}

const (
	benchSID   = "AC" + "0123456789abcdef0123456789abcdef"
	benchToken = "benchTOKEN0123456789"
	benchDID   = "+15550001000"
)

func startTandem(o tandemOptions) (*tandem, error) {
	// A fresh store every time: the number is provisioned anew.
	if err := os.RemoveAll(filepath.Join(o.dir, "var")); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return nil, err
	}
	sipPort, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	adminPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	gc := ""
	if o.memoryLimit != "" || o.gcPercent != 0 {
		gc = fmt.Sprintf("runtime: {memory_limit: %q, gc_percent: %d}\n", o.memoryLimit, o.gcPercent)
	}
	cfg := fmt.Sprintf(`# Written by bench/sip/cps for one benchmark run.
data_dir: %s
log: {level: warn, format: json}
admin: {listen: "127.0.0.1:%d", pprof: true}
api: {listen: "127.0.0.1:%d"}
%ssip:
  listen:
    - {transport: udp, address: "127.0.0.1:%d", sockets: %d}
  inbound_trunks: [{name: sipp, cidrs: [127.0.0.0/8]}]
media:
  interfaces: [{name: default, bind_ip: 127.0.0.1, shared_ports: [0]}]
  dedicated_port_min: 0
  dedicated_port_max: 0
`, filepath.Join(o.dir, "var"), adminPort, apiPort, gc, sipPort, o.sipSockets)
	cfgPath := filepath.Join(o.dir, "tandem.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	env := []string{"TANDEM_ACCOUNT_SID=" + benchSID, "TANDEM_AUTH_TOKEN=" + benchToken}
	if o.gctrace {
		env = append(env, "GODEBUG=gctrace=1")
	}
	stderr := filepath.Join(o.dir, "tandem.log")
	c, err := startChild("tandem", stderr, env, o.pin, o.binary, "-config", cfgPath)
	if err != nil {
		return nil, err
	}
	t := &tandem{
		child: c, opts: o, sipPort: sipPort, stderr: stderr,
		apiURL:   fmt.Sprintf("http://127.0.0.1:%d", apiPort),
		adminURL: fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		sid:      benchSID, token: benchToken,
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if !c.alive() {
			return nil, fmt.Errorf("tandem exited at start: %s", c.tail())
		}
		res, err := http.Get(t.adminURL + "/ready")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			c.stop(syscall.SIGKILL, time.Second)
			return nil, fmt.Errorf("tandem not ready after 20 s: %s", c.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return t, nil
}

// provision creates the application and the number through the REST API,
// as an operator would.
func (t *tandem) provision(voiceURL string) error {
	var app struct {
		SID string `json:"sid"`
	}
	if err := t.post("/Applications.json", url.Values{"FriendlyName": {"bench"}, "VoiceUrl": {voiceURL}}, &app); err != nil {
		return err
	}
	if !strings.HasPrefix(app.SID, "AP") {
		return fmt.Errorf("create application: no sid in answer")
	}
	var num struct {
		SID string `json:"sid"`
	}
	if err := t.post("/IncomingPhoneNumbers.json", url.Values{"PhoneNumber": {benchDID}, "VoiceApplicationSid": {app.SID}}, &num); err != nil {
		return err
	}
	if !strings.HasPrefix(num.SID, "PN") {
		return fmt.Errorf("create number: no sid in answer")
	}
	return nil
}

func (t *tandem) post(path string, form url.Values, out any) error {
	u := t.apiURL + "/2010-04-01/Accounts/" + t.sid + path
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.SetBasicAuth(t.sid, t.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", path, res.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	return nil
}

// metrics scrapes /metrics and returns the samples whose names are in
// names (summed over labels).
func (t *tandem) metrics(names ...string) (map[string]float64, error) {
	res, err := http.Get(t.adminURL + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			if j := strings.LastIndexByte(line, '}'); j >= 0 {
				name, rest = line[:i], strings.TrimSpace(line[j+1:])
			}
		}
		if !want[name] {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err == nil {
			out[name] += v
		}
	}
	return out, sc.Err()
}

// activeCalls is the number of SIP calls the stack still carries.
func (t *tandem) activeCalls() int {
	m, err := t.metrics("tandem_sip_inbound_calls_active", "tandem_sip_outbound_calls_active")
	if err != nil {
		return -1
	}
	return int(m["tandem_sip_inbound_calls_active"] + m["tandem_sip_outbound_calls_active"])
}

// forceGC asks the daemon for a heap profile with gc=1, which runs a
// garbage collection first (net/http/pprof).
func (t *tandem) forceGC() {
	res, err := http.Get(t.adminURL + "/debug/pprof/heap?gc=1")
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}

// fetch saves an admin URL path (a pprof profile) to a file.
func (t *tandem) fetch(path, file string) error {
	res, err := http.Get(t.adminURL + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, res.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// gcSince parses the gctrace lines the daemon wrote since the last call.
func (t *tandem) gcSince() gcTotals {
	f, err := os.Open(t.stderr)
	if err != nil {
		return gcTotals{}
	}
	defer f.Close()
	if _, err := f.Seek(t.gcOffset, io.SeekStart); err != nil {
		return gcTotals{}
	}
	b, _ := io.ReadAll(f)
	// Only whole lines; a partial last line is read next time.
	if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	t.gcOffset += int64(len(b))
	return parseGCTrace(string(b))
}

// gcTotals sums gctrace lines.
type gcTotals struct {
	cycles int
	cpu    float64 // seconds of CPU in the collector (STW, assist, background, idle)
	pause  float64 // seconds of wall-clock stop-the-world
	maxSTW float64
	// The last cycle's live heap (the third figure of "a->b->c MB") and
	// goroutine stacks, in MB.
	lastLive, lastStacks float64
}

// parseGCTrace reads GODEBUG=gctrace=1 lines:
//
//	gc 12 @3.456s 2%: 0.012+1.2+0.003 ms clock, 0.025+0.5/1.1/0.2+0.006 ms cpu, 4->5->2 MB, 5 MB goal, …
//
// The cpu part is sweep termination (STW) + assist/background/idle mark +
// mark termination (STW); the clock part's first and last terms are the two
// stop-the-world pauses.
func parseGCTrace(s string) gcTotals {
	var t gcTotals
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "gc ") {
			continue
		}
		_, rest, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		parts := strings.Split(rest, ", ")
		if len(parts) < 2 || !strings.HasSuffix(parts[0], " ms clock") || !strings.HasSuffix(parts[1], " ms cpu") {
			continue
		}
		clock := strings.Split(strings.TrimSuffix(parts[0], " ms clock"), "+")
		cpu := strings.Split(strings.TrimSuffix(parts[1], " ms cpu"), "+")
		if len(clock) != 3 || len(cpu) != 3 {
			continue
		}
		var ms float64
		for _, term := range cpu {
			for _, x := range strings.Split(term, "/") {
				v, _ := strconv.ParseFloat(x, 64)
				ms += v
			}
		}
		if len(parts) >= 5 {
			heap := strings.Split(strings.TrimSuffix(parts[2], " MB"), "->")
			if len(heap) == 3 {
				t.lastLive, _ = strconv.ParseFloat(heap[2], 64)
			}
			t.lastStacks, _ = strconv.ParseFloat(strings.TrimSuffix(parts[4], " MB stacks"), 64)
		}
		c0, _ := strconv.ParseFloat(clock[0], 64)
		c2, _ := strconv.ParseFloat(clock[2], 64)
		t.cycles++
		t.cpu += ms / 1000
		t.pause += (c0 + c2) / 1000
		t.maxSTW = max(t.maxSTW, max(c0, c2)/1000)
	}
	return t
}
