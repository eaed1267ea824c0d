package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	"go.uber.org/goleak"

	"tandem/control/controltest"
)

// apiListenersYAML puts every socket the daemon binds besides the admin
// listener (which startDaemon probes) on a port the kernel picks: the REST
// API, both SIP transports, the media core's shared ports (0: the kernel
// chooses the RTP and RTCP pair) and its dedicated range (both 0: the kernel
// chooses). Tests running side by side, and the defaults of a tandem that
// may be running on this machine (8080, 5060, 30000…), never collide.
const apiListenersYAML = `api:
  listen: 127.0.0.1:0
sip:
  listen:
    - transport: udp
      address: 127.0.0.1:0
      sockets: 1
    - transport: tcp
      address: 127.0.0.1:0
media:
  interfaces:
    - name: default
      bind_ip: 127.0.0.1
      shared_ports: [0]
  dedicated_port_min: 0
  dedicated_port_max: 0
  workers: 1
`

// startAPIDaemon runs the daemon with every listener on a free port and
// sets p.api to the address the control API is bound to, read from its
// "listening" log line (the port is the kernel's choice). /ready can
// answer a moment before that line reaches stderr, so the log is read
// until the line is there.
func startAPIDaemon(t *testing.T, o procOptions) *daemonProc {
	t.Helper()
	o.extraYAML = apiListenersYAML + o.extraYAML
	p := startDaemon(t, o)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if addr, ok := findListenAddr(p.logs(), "api"); ok {
			p.api = addr
			return p
		}
	}
	p.api = listenAddr(t, p.logs(), "api")
	return p
}

// listenAddr finds the address of a listener in the daemon's JSON log.
func listenAddr(t *testing.T, logs, listener string) string {
	t.Helper()
	if addr, ok := findListenAddr(logs, listener); ok {
		return addr
	}
	t.Fatalf("no %q listening line in the log:\n%s", listener, logs)
	return ""
}

// findListenAddr returns the address of the first "listening" line for
// listener in a JSON log.
func findListenAddr(logs, listener string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			Listener string `json:"listener"`
			Addr     string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Listener == listener {
			return line.Addr, true
		}
	}
	return "", false
}

var (
	printedSID   = regexp.MustCompile(`AccountSid:\s+(AC[0-9a-f]{32})\b`)
	printedToken = regexp.MustCompile(`AuthToken:\s+([0-9A-Za-z]+)`)
)

// printedCredentials reads the main account's credentials from the daemon's
// stdout, where the first start prints them once.
func printedCredentials(t *testing.T, stdout string) (sid, token string) {
	t.Helper()
	s, k := printedSID.FindAllStringSubmatch(stdout, -1), printedToken.FindAllStringSubmatch(stdout, -1)
	if len(s) != 1 || len(k) != 1 {
		t.Fatalf("first start: want AccountSid and AuthToken printed once each on stdout, got:\n%s", stdout)
	}
	return s[0][1], k[0][1]
}

// requestLog records the requests a twilio-go client sends.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // "METHOD path?query"
	next http.RoundTripper
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

// reset forgets the requests recorded so far.
func (l *requestLog) reset() {
	l.mu.Lock()
	l.reqs = nil
	l.mu.Unlock()
}

// count returns how many recorded requests have method and a path ending in
// suffix, and forgets them all.
func (l *requestLog) count(method, suffix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		m, uri, _ := strings.Cut(r, " ")
		path, _, _ := strings.Cut(uri, "?")
		if m == method && strings.HasSuffix(path, suffix) {
			n++
		}
	}
	l.reqs = nil
	return n
}

// twilioTo returns the real twilio-go client authenticated as sid:token with
// its api.twilio.com requests sent to the daemon at addr, and the log of its
// requests.
func twilioTo(t *testing.T, addr, sid, token string) (*twilio.RestClient, *requestLog) {
	t.Helper()
	hc, err := controltest.HTTPClient("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	log := &requestLog{next: hc.Transport}
	hc.Transport = log
	t.Cleanup(func() { closeIdleConns(log) })
	c := &client.Client{Credentials: client.NewCredentials(sid, token), HTTPClient: hc}
	c.SetAccountSid(sid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}), log
}

// restError returns err as twilio-go's REST error, failing the test when it
// is anything else.
func restError(t *testing.T, err error) *client.TwilioRestError {
	t.Helper()
	var re *client.TwilioRestError
	if !errors.As(err, &re) {
		t.Fatalf("want a *client.TwilioRestError, got %T: %v", err, err)
	}
	return re
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func sidsOf[T any](items []T, sid func(T) *string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, str(sid(it)))
	}
	return out
}

// sameSet reports whether got holds exactly the SIDs of want, each once.
func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func appSID(a api.ApiV2010Application) *string            { return a.Sid }
func numberSID(n api.ApiV2010IncomingPhoneNumber) *string { return n.Sid }

// TestDaemonAPIThroughTwilioGo is issue 2's API test against the running
// daemon with the unchanged twilio-go client: Applications and
// IncomingPhoneNumbers through create, fetch, list across several pages
// (twilio-go's own next_page_uri paging), update and delete; a subaccount
// that cannot see its parent's application (404/20404); a wrong token
// (401/20003); the main account's credentials printed once on the first
// start; and a restart on the same data dir that prints nothing and keeps
// every resource and credential.
func TestDaemonAPIThroughTwilioGo(t *testing.T) {
	dir := t.TempDir()
	p := startAPIDaemon(t, procOptions{dir: dir})
	sid, token := printedCredentials(t, p.output())
	if strings.Contains(p.logs(), token) {
		t.Error("the main account's auth token appears in the log")
	}
	tw, reqs := twilioTo(t, p.api, sid, token)

	// Applications: create five, so that PageSize 2 needs three pages.
	var apps []string
	for i := range 5 {
		a, err := tw.Api.CreateApplication(new(api.CreateApplicationParams).
			SetFriendlyName(fmt.Sprintf("app %d", i)).SetVoiceUrl(fmt.Sprintf("https://example.com/voice/%d", i)))
		if err != nil {
			t.Fatalf("CreateApplication %d: %v", i, err)
		}
		if s := str(a.Sid); !strings.HasPrefix(s, "AP") || len(s) != 34 || str(a.AccountSid) != sid ||
			str(a.FriendlyName) != fmt.Sprintf("app %d", i) || str(a.VoiceMethod) != "POST" {
			t.Fatalf("created application = sid %q account %q name %q method %q", s, str(a.AccountSid), str(a.FriendlyName), str(a.VoiceMethod))
		}
		apps = append(apps, str(a.Sid))
	}
	got, err := tw.Api.FetchApplication(apps[2], nil)
	if err != nil || str(got.Sid) != apps[2] || str(got.FriendlyName) != "app 2" || str(got.VoiceUrl) != "https://example.com/voice/2" {
		t.Fatalf("FetchApplication = %+v, %v", got, err)
	}
	reqs.reset()
	list, err := tw.Api.ListApplication(new(api.ListApplicationParams).SetPageSize(2))
	if err != nil {
		t.Fatalf("ListApplication: %v", err)
	}
	if s := sidsOf(list, appSID); !sameSet(s, apps) {
		t.Errorf("paged list = %v, want each of %v once", s, apps)
	}
	if n := reqs.count(http.MethodGet, "/Applications.json"); n != 3 {
		t.Errorf("listing 5 applications with PageSize 2 took %d requests, want 3 pages", n)
	}
	records, errs := tw.Api.StreamApplication(new(api.ListApplicationParams).SetPageSize(2).SetLimit(3))
	var streamed []api.ApiV2010Application
	for a := range records {
		streamed = append(streamed, a)
	}
	if err := <-errs; err != nil || len(streamed) != 3 || !slices.Equal(sidsOf(streamed, appSID), sidsOf(list[:3], appSID)) {
		t.Errorf("StreamApplication(PageSize 2, Limit 3) = %v, %v; want the first 3 of %v", sidsOf(streamed, appSID), err, sidsOf(list, appSID))
	}
	if n := reqs.count(http.MethodGet, "/Applications.json"); n != 2 {
		t.Errorf("streaming 3 applications with PageSize 2 took %d requests, want 2 pages", n)
	}

	up, err := tw.Api.UpdateApplication(apps[0], new(api.UpdateApplicationParams).
		SetFriendlyName("renamed").SetVoiceMethod("GET").SetVoiceUrl("https://example.org/v2"))
	if err != nil || str(up.FriendlyName) != "renamed" || str(up.VoiceMethod) != "GET" || str(up.VoiceUrl) != "https://example.org/v2" {
		t.Fatalf("UpdateApplication = %+v, %v", up, err)
	}
	if got, err := tw.Api.FetchApplication(apps[0], nil); err != nil || str(got.FriendlyName) != "renamed" || str(got.VoiceMethod) != "GET" {
		t.Errorf("fetch after update = %+v, %v", got, err)
	}
	if err := tw.Api.DeleteApplication(apps[4], nil); err != nil {
		t.Fatalf("DeleteApplication: %v", err)
	}
	_, err = tw.Api.FetchApplication(apps[4], nil)
	if re := restError(t, err); re.Status != 404 || re.Code != 20404 {
		t.Errorf("fetch after delete = %+v, want 404/20404", re)
	}
	apps = apps[:4]

	// IncomingPhoneNumbers: three, one routed to an application.
	numbers := []string{"+14155550100", "+14155550101", "+14155550102"}
	var pns []string
	for i, num := range numbers {
		params := new(api.CreateIncomingPhoneNumberParams).SetPhoneNumber(num)
		if i == 0 {
			params.SetVoiceApplicationSid(apps[0])
		}
		n, err := tw.Api.CreateIncomingPhoneNumber(params)
		if err != nil {
			t.Fatalf("CreateIncomingPhoneNumber %s: %v", num, err)
		}
		if s := str(n.Sid); !strings.HasPrefix(s, "PN") || len(s) != 34 || str(n.PhoneNumber) != num || str(n.AccountSid) != sid {
			t.Fatalf("created number = sid %q number %q account %q", s, str(n.PhoneNumber), str(n.AccountSid))
		}
		pns = append(pns, str(n.Sid))
	}
	n, err := tw.Api.FetchIncomingPhoneNumber(pns[0], nil)
	if err != nil || str(n.PhoneNumber) != numbers[0] || str(n.VoiceApplicationSid) != apps[0] {
		t.Fatalf("FetchIncomingPhoneNumber = %+v, %v", n, err)
	}
	nums, err := tw.Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPageSize(1))
	if err != nil || !sameSet(sidsOf(nums, numberSID), pns) {
		t.Errorf("paged number list = %v, %v; want each of %v once", sidsOf(nums, numberSID), err, pns)
	}
	if n := reqs.count(http.MethodGet, "/IncomingPhoneNumbers.json"); n != 3 {
		t.Errorf("listing 3 numbers with PageSize 1 took %d requests, want 3 pages", n)
	}
	if n, err := tw.Api.UpdateIncomingPhoneNumber(pns[1], new(api.UpdateIncomingPhoneNumberParams).
		SetVoiceUrl("https://example.com/number").SetFriendlyName("support line")); err != nil ||
		str(n.VoiceUrl) != "https://example.com/number" || str(n.FriendlyName) != "support line" {
		t.Fatalf("UpdateIncomingPhoneNumber = %+v, %v", n, err)
	}
	if n, err := tw.Api.FetchIncomingPhoneNumber(pns[1], nil); err != nil || str(n.VoiceUrl) != "https://example.com/number" {
		t.Errorf("fetch number after update = %+v, %v", n, err)
	}
	if err := tw.Api.DeleteIncomingPhoneNumber(pns[2], nil); err != nil {
		t.Fatalf("DeleteIncomingPhoneNumber: %v", err)
	}
	_, err = tw.Api.FetchIncomingPhoneNumber(pns[2], nil)
	if re := restError(t, err); re.Status != 404 || re.Code != 20404 {
		t.Errorf("fetch number after delete = %+v, want 404/20404", re)
	}
	pns = pns[:2]

	// A subaccount sees nothing of its parent's: 404/20404 whether it names
	// the application under its own path or under the parent's.
	sub, err := tw.Api.CreateAccount(new(api.CreateAccountParams).SetFriendlyName("tenant"))
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	subSID, subToken := str(sub.Sid), str(sub.AuthToken)
	if !strings.HasPrefix(subSID, "AC") || subSID == sid || str(sub.OwnerAccountSid) != sid || subToken == "" {
		t.Fatalf("CreateAccount = sid %q owner %q token %q", subSID, str(sub.OwnerAccountSid), subToken)
	}
	subTw, _ := twilioTo(t, p.api, subSID, subToken)
	for _, c := range []struct {
		name   string
		params *api.FetchApplicationParams
	}{
		{"under its own path", nil},
		{"under the parent's path", new(api.FetchApplicationParams).SetPathAccountSid(sid)},
	} {
		_, err := subTw.Api.FetchApplication(apps[1], c.params)
		if re := restError(t, err); re.Status != 404 || re.Code != 20404 {
			t.Errorf("subaccount fetching the parent's application %s = %+v, want 404/20404", c.name, re)
		}
	}
	subApp, err := subTw.Api.CreateApplication(new(api.CreateApplicationParams).SetFriendlyName("tenant app"))
	if err != nil || str(subApp.AccountSid) != subSID {
		t.Fatalf("subaccount CreateApplication = %+v, %v", subApp, err)
	}

	// A wrong token is 401/20003, on the parent's and the subaccount's SID.
	for _, who := range []string{sid, subSID} {
		bad, _ := twilioTo(t, p.api, who, strings.Repeat("0", 32))
		_, err := bad.Api.ListApplication(nil)
		if re := restError(t, err); re.Status != 401 || re.Code != 20003 {
			t.Errorf("wrong token for %s = %+v, want 401/20003", who, re)
		}
	}

	// Restart on the same data dir: nothing printed, everything kept.
	p.signal(syscall.SIGTERM)
	if code, _ := p.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	p2 := startAPIDaemon(t, procOptions{dir: dir})
	if out := p2.output(); strings.Contains(out, "AccountSid") || strings.Contains(out, "AuthToken") || strings.Contains(out, token) {
		t.Errorf("restart printed credentials again:\n%s", out)
	}
	if logs := p2.logs(); !strings.Contains(logs, sid) || strings.Contains(logs, token) {
		t.Errorf("restart log should name the main account %s and never its token:\n%s", sid, logs)
	}
	tw2, _ := twilioTo(t, p2.api, sid, token)
	if got, err := tw2.Api.FetchApplication(apps[0], nil); err != nil || str(got.FriendlyName) != "renamed" || str(got.VoiceUrl) != "https://example.org/v2" {
		t.Errorf("application after restart = %+v, %v", got, err)
	}
	if list, err := tw2.Api.ListApplication(new(api.ListApplicationParams).SetPageSize(3)); err != nil || !sameSet(sidsOf(list, appSID), apps) {
		t.Errorf("applications after restart = %v, %v; want %v", sidsOf(list, appSID), err, apps)
	}
	if nums, err := tw2.Api.ListIncomingPhoneNumber(nil); err != nil || !sameSet(sidsOf(nums, numberSID), pns) {
		t.Errorf("numbers after restart = %v, %v; want %v", sidsOf(nums, numberSID), err, pns)
	}
	if n, err := tw2.Api.FetchIncomingPhoneNumber(pns[0], nil); err != nil || str(n.VoiceApplicationSid) != apps[0] {
		t.Errorf("number's application after restart = %+v, %v", n, err)
	}
	subTw2, _ := twilioTo(t, p2.api, subSID, subToken)
	if got, err := subTw2.Api.FetchApplication(str(subApp.Sid), nil); err != nil || str(got.FriendlyName) != "tenant app" {
		t.Errorf("subaccount's application after restart, with its own credentials = %+v, %v", got, err)
	}
	p2.signal(syscall.SIGTERM)
	if code, _ := p2.wait(5 * time.Second); code != 0 {
		t.Fatalf("second run: exit code %d after SIGTERM, want 0", code)
	}
	closeIdle(tw, subTw, tw2, subTw2)
	goleak.VerifyNone(t)
}

// closeIdle closes the idle connections of twilio-go clients made by
// twilioTo, so that a leak check sees only real leaks.
func closeIdle(clients ...*twilio.RestClient) {
	for _, c := range clients {
		if bc, ok := c.Client.(*client.Client); ok && bc.HTTPClient != nil {
			closeIdleConns(bc.HTTPClient.Transport)
		}
	}
}

// closeIdleConns closes the idle connections of the http.Transport under rt.
// http.Client.CloseIdleConnections cannot: it asks only the outermost
// RoundTripper, and controltest.Transport does not pass the call on.
func closeIdleConns(rt http.RoundTripper) {
	for {
		switch t := rt.(type) {
		case *requestLog:
			rt = t.next
		case *probe:
			rt = t.next
		case *controltest.Transport:
			rt = t.Next
		case interface{ CloseIdleConnections() }:
			t.CloseIdleConnections()
			return
		default:
			return
		}
	}
}

// randomCredentials makes a main account's credentials for the
// TANDEM_ACCOUNT_SID and TANDEM_AUTH_TOKEN variables.
func randomCredentials(t *testing.T) (sid, token string) {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "AC" + hex.EncodeToString(b[:16]), hex.EncodeToString(b[16:])
}

// outcomeKind classifies one HTTP exchange of the load.
type outcomeKind int

const (
	// completed: a whole 2xx or 4xx answer with a valid body.
	completed outcomeKind = iota
	// refused: the connection was refused (the listener was closed).
	refused
	// lost: anything else: a reset, an EOF or a short body after the
	// request was sent, or a 5xx.
	lost
)

// outcome is what one call of the load came to.
type outcome struct {
	op        string
	kind      outcomeKind
	reused    bool      // sent on a kept-alive connection
	wrote     time.Time // the request was written whole
	closing   bool      // the response said "Connection: close"
	status    int
	err       error
	clientErr error  // what twilio-go returned for the call
	created   string // the SID a create was answered with
}

// probe is a RoundTripper that classifies every exchange it carries and
// hands twilio-go a response whose body it has already read whole.
type probe struct {
	next http.RoundTripper
	mu   sync.Mutex
	last *outcome // the exchange of the worker's current call
}

func (pr *probe) RoundTrip(r *http.Request) (*http.Response, error) {
	o := &outcome{}
	var mu sync.Mutex // trace hooks run on the transport's goroutines
	trace := &httptrace.ClientTrace{
		GotConn:      func(i httptrace.GotConnInfo) { mu.Lock(); o.reused = i.Reused; mu.Unlock() },
		WroteRequest: func(httptrace.WroteRequestInfo) { mu.Lock(); o.wrote = time.Now(); mu.Unlock() },
	}
	res, err := pr.next.RoundTrip(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
	var body []byte
	if err == nil {
		body, err = io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(body))
	}
	mu.Lock()
	defer mu.Unlock()
	o.err = err
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		o.kind = refused
	case err != nil:
		o.kind = lost
	default:
		o.status, o.closing = res.StatusCode, res.Close
		if validAnswer(res.StatusCode, body) {
			o.kind = completed
		} else {
			o.kind = lost
			o.err = fmt.Errorf("status %d with body %.200q", res.StatusCode, body)
		}
	}
	pr.mu.Lock()
	pr.last = o
	pr.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// validAnswer reports whether a response is one a client can act on: 2xx or
// 4xx with a JSON body (204 with none).
func validAnswer(status int, body []byte) bool {
	if status < 200 || status >= 300 && status < 400 || status >= 500 {
		return false
	}
	if status == http.StatusNoContent {
		return len(body) == 0
	}
	return json.Valid(body)
}

func (pr *probe) take() *outcome {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	o := pr.last
	pr.last = nil
	return o
}

// slowCreate is an application create whose body the test holds back: it
// sends "Expect: 100-continue", and the daemon's "100 Continue" proves that
// the API handler is running and reading the body, where it waits until
// release. A request in flight for as long as the test wants, without a
// slow endpoint.
type slowCreate struct {
	form   string
	body   *io.PipeWriter
	got100 chan struct{}
	done   chan struct{}
	tr     *http.Transport
	// set when done is closed
	status  int
	closing bool
	answer  []byte
	err     error
}

func startSlowCreate(t *testing.T, addr, sid, token, name string) *slowCreate {
	t.Helper()
	form := "FriendlyName=" + name
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/2010-04-01/Accounts/"+sid+"/Applications.json", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Expect", "100-continue")
	req.SetBasicAuth(sid, token)
	s := &slowCreate{form: form, body: pw, got100: make(chan struct{}), done: make(chan struct{}),
		tr: &http.Transport{ExpectContinueTimeout: 10 * time.Second, DisableKeepAlives: true}}
	var once sync.Once
	trace := &httptrace.ClientTrace{Got100Continue: func() { once.Do(func() { close(s.got100) }) }}
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")); <-s.done; s.tr.CloseIdleConnections() })
	go func() {
		defer close(s.done)
		res, err := s.tr.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
		if err != nil {
			s.err = err
			return
		}
		defer res.Body.Close()
		s.status, s.closing = res.StatusCode, res.Close
		s.answer, s.err = io.ReadAll(res.Body)
	}()
	select {
	case <-s.got100:
	case <-s.done:
		t.Fatalf("slow create ended before 100 Continue: status %d, %v", s.status, s.err)
	case <-time.After(5 * time.Second):
		t.Fatal("no 100 Continue from the API in 5 s")
	}
	return s
}

// release sends the rest of the request. If the exchange is already over
// (the daemon cut it), nothing reads the body any more: the write is
// abandoned.
func (s *slowCreate) release() {
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = io.WriteString(s.body, s.form)
		_ = s.body.Close()
	}()
	select {
	case <-wrote:
	case <-s.done:
		_ = s.body.CloseWithError(errors.New("the exchange is over"))
		<-wrote
	}
}

// result waits for the answer and returns the created application's SID,
// or an error saying how the request was lost.
func (s *slowCreate) result() (string, error) {
	<-s.done
	if s.err != nil {
		return "", s.err
	}
	var app struct {
		Sid string `json:"sid"`
	}
	if s.status != http.StatusCreated || json.Unmarshal(s.answer, &app) != nil || !strings.HasPrefix(app.Sid, "AP") {
		return "", fmt.Errorf("answered %d: %.200q", s.status, s.answer)
	}
	return app.Sid, nil
}

// waitListenerClosed returns once a connection to addr is refused: the
// daemon has closed its listener, so its shutdown has begun.
func waitListenerClosed(t *testing.T, addr string) time.Time {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			continue
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return time.Now()
		}
	}
	t.Fatalf("the API at %s still accepts connections 2 s after the signal", addr)
	return time.Time{}
}

// TestSIGTERMCompletesAPIRequestsInFlight checks the drain of ARCHITECTURE.md
// "Lifecycle" on the API: SIGTERM arrives while three creates are held in
// the API handler (slowCreate) and eight twilio-go workers, sharing one
// keep-alive transport as an application would, fetch, list, create and
// update applications. The daemon must exit 0 within 2 s of the signal, and
// no request may be lost: each one either got a whole 2xx/4xx answer, or
// its connection was refused because the listener was already closed;
// never a reset, an EOF or a short body once it was sent. The held creates,
// released only after the listener closed, must be answered 201 (with
// "Connection: close": the daemon was draining), and every create answered
// 201 must still be there after a restart.
func TestSIGTERMCompletesAPIRequestsInFlight(t *testing.T) {
	sid, token := randomCredentials(t)
	dir := t.TempDir()
	env := []string{"TANDEM_ACCOUNT_SID=" + sid, "TANDEM_AUTH_TOKEN=" + token}
	p := startAPIDaemon(t, procOptions{dir: dir, env: env})

	setup, _ := twilioTo(t, p.api, sid, token)
	var targets []string
	for i := range 4 {
		a, err := setup.Api.CreateApplication(new(api.CreateApplicationParams).SetFriendlyName(fmt.Sprintf("target %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, str(a.Sid))
	}
	closeIdle(setup)

	var slow []*slowCreate
	for i := range 3 {
		slow = append(slow, startSlowCreate(t, p.api, sid, token, fmt.Sprintf("held%d", i)))
	}
	ld := startLoad(t, p.api, sid, token, targets)
	// Let the load run before the signal, so that connections are open and
	// requests are queued on both cores.
	time.Sleep(300 * time.Millisecond)
	sigAt := time.Now()
	p.signal(syscall.SIGTERM)
	closedAt := waitListenerClosed(t, p.api)
	for _, s := range slow {
		s.release()
	}
	code, _ := p.wait(2 * time.Second)
	exitAfter := time.Since(sigAt)
	outcomes := ld.stop()
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if exitAfter > 2*time.Second {
		t.Errorf("exit %v after SIGTERM, want within 2 s", exitAfter)
	}

	created := map[string]bool{}
	for i, s := range slow {
		asid, err := s.result()
		if err != nil {
			t.Errorf("create held in the handler across the signal lost: %v", err)
			continue
		}
		if !s.closing {
			t.Errorf("held create %d answered without Connection: close: was the daemon draining?", i)
		}
		created[asid] = true
	}
	var done, refusedN, lostN, inDrain int
	for _, o := range outcomes {
		switch o.kind {
		case completed:
			done++
			if o.closing {
				inDrain++
			}
			if o.created != "" {
				created[o.created] = true
			}
			// Every call of the load is valid (fetch-missing counts its
			// 404 as success): a whole answer that twilio-go reports as
			// an error is a wrong answer, 4xx or not.
			if o.clientErr != nil {
				t.Errorf("%s: answered %d in full but twilio-go returned %v", o.op, o.status, o.clientErr)
			}
		case refused:
			refusedN++
		case lost:
			lostN++
			sent := "not written whole"
			if !o.wrote.IsZero() {
				sent = fmt.Sprintf("written %v after the signal", o.wrote.Sub(sigAt))
			}
			t.Errorf("%s lost: %v (kept-alive connection: %v, %s)", o.op, o.err, o.reused, sent)
		}
	}
	t.Logf("SIGTERM: listener closed %v after the signal, exit %v after it; %d load requests: %d completed (%d answered during the drain), %d refused, %d lost; %d held creates",
		closedAt.Sub(sigAt), exitAfter, len(outcomes), done, inDrain, refusedN, lostN, len(slow))
	if done == 0 {
		t.Fatal("no load request completed")
	}

	// Every create answered 201 was stored for good.
	p2 := startAPIDaemon(t, procOptions{dir: dir, env: env})
	tw, _ := twilioTo(t, p2.api, sid, token)
	all, err := tw.Api.ListApplication(new(api.ListApplicationParams).SetPageSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, a := range all {
		stored[str(a.Sid)] = true
	}
	for asid := range created {
		if !stored[asid] {
			t.Errorf("application %s was answered 201 before the shutdown but is gone after a restart", asid)
		}
	}
	p2.signal(syscall.SIGTERM)
	if code, _ := p2.wait(5 * time.Second); code != 0 {
		t.Errorf("second run: exit code %d after SIGTERM, want 0", code)
	}
	closeIdle(tw)
	goleak.VerifyNone(t)
}

// TestSIGINTCutsRequestsInFlight is the counter-test of the drain check:
// SIGINT stops now (ARCHITECTURE.md "Lifecycle"), so a create held in the
// API handler at the signal must be cut, and slowCreate must see it. If it
// did not, the SIGTERM test could pass with requests being cut.
func TestSIGINTCutsRequestsInFlight(t *testing.T) {
	sid, token := randomCredentials(t)
	p := startAPIDaemon(t, procOptions{env: []string{"TANDEM_ACCOUNT_SID=" + sid, "TANDEM_AUTH_TOKEN=" + token}})
	s := startSlowCreate(t, p.api, sid, token, "held")
	p.signal(syscall.SIGINT)
	if code, _ := p.wait(5 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGINT, want 0", code)
	}
	s.release()
	if asid, err := s.result(); err == nil {
		t.Errorf("a create in flight at SIGINT was answered (%s): stop-now did not stop, or the check cannot see a cut request", asid)
	} else {
		t.Logf("cut as expected: %v", err)
	}
	goleak.VerifyNone(t)
}

// load is the SIGTERM test's traffic: eight twilio-go workers on one shared
// keep-alive transport, each classifying its calls with a probe.
type load struct {
	shared   http.RoundTripper
	stopping chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
	mu       sync.Mutex
	outcomes []*outcome
}

func startLoad(t *testing.T, addr, sid, token string, targets []string) *load {
	t.Helper()
	hc, err := controltest.HTTPClient("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	ld := &load{shared: hc.Transport, stopping: make(chan struct{})}
	// Bounded in count and time whatever the daemon does.
	deadline := time.Now().Add(5 * time.Second)
	for w := range 8 {
		pr := &probe{next: ld.shared}
		c := &client.Client{Credentials: client.NewCredentials(sid, token),
			HTTPClient: &http.Client{Transport: pr, CheckRedirect: hc.CheckRedirect}}
		c.SetAccountSid(sid)
		tw := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
				op, call := loadOp(tw, targets, w, i)
				created, err := call()
				o := pr.take()
				if o == nil {
					// twilio-go gave up before sending anything: a
					// mistake of the test, not of the daemon.
					o = &outcome{kind: lost, err: fmt.Errorf("no request sent: %w", err)}
				}
				o.op, o.clientErr, o.created = op, err, created
				ld.mu.Lock()
				ld.outcomes = append(ld.outcomes, o)
				ld.mu.Unlock()
				select {
				case <-ld.stopping:
					return
				default:
				}
			}
		}()
	}
	t.Cleanup(func() { ld.stop() })
	return ld
}

// stop ends the load, after the call each worker has under way, and returns
// every call's outcome. The test calls it once the daemon has exited, so
// that the load covers the whole shutdown.
func (ld *load) stop() []*outcome {
	ld.once.Do(func() { close(ld.stopping) })
	ld.wg.Wait()
	closeIdleConns(ld.shared)
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.outcomes
}

// loadOp is the i-th call of worker w: a mix of reads (an application, a
// page of up to 1000 applications, which grows as the load creates them,
// and a missing application, 404) and writes (create, update).
func loadOp(tw *twilio.RestClient, targets []string, w, i int) (string, func() (string, error)) {
	target := targets[(w+i)%len(targets)]
	switch (w + i) % 5 {
	case 0:
		return "fetch", func() (string, error) { _, err := tw.Api.FetchApplication(target, nil); return "", err }
	case 1:
		return "page", func() (string, error) {
			_, err := tw.Api.PageApplication(new(api.ListApplicationParams).SetPageSize(1000), "", "")
			return "", err
		}
	case 2:
		return "create", func() (string, error) {
			a, err := tw.Api.CreateApplication(new(api.CreateApplicationParams).
				SetFriendlyName(fmt.Sprintf("load %d-%d", w, i)).SetVoiceUrl("https://example.com/voice"))
			if err != nil {
				return "", err
			}
			return str(a.Sid), nil
		}
	case 3:
		return "update", func() (string, error) {
			_, err := tw.Api.UpdateApplication(target, new(api.UpdateApplicationParams).SetFriendlyName(fmt.Sprintf("upd %d-%d", w, i)))
			return "", err
		}
	default:
		return "fetch-missing", func() (string, error) {
			_, err := tw.Api.FetchApplication("AP"+strings.Repeat("0", 32), nil)
			var re *client.TwilioRestError
			if errors.As(err, &re) && re.Status == 404 {
				return "", nil
			}
			if err == nil {
				return "", errors.New("a missing application was found")
			}
			return "", err
		}
	}
}

// TestCheckConfigOnShippedFile runs `tandem check-config` (the real binary)
// on configs/tandem.yaml, which must pass, and on a copy with an unknown key
// nested deep in the media section, which must fail with exit 1 and the
// key's full path.
func TestCheckConfigOnShippedFile(t *testing.T) {
	shipped, err := os.ReadFile("../../configs/tandem.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const good = "      shared_ports: [30000, 30002]\n"
	if !bytes.Contains(shipped, []byte(good)) {
		t.Fatalf("configs/tandem.yaml no longer has %q to put a bad key beside", good)
	}
	bad := bytes.Replace(shipped, []byte(good), []byte(good+"      shared_portz: [30004]\n"), 1)
	cases := []struct {
		name     string
		body     []byte
		code     int
		stdout   string
		stderr   []string
		noStderr bool
	}{
		{"shipped file", shipped, 0, ": OK", nil, true},
		{"unknown nested key", bad, 1, "", []string{"media.interfaces[0].shared_portz", "unknown key", `did you mean "shared_ports"`}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, string(c.body))
			cmd := exec.Command(tandemBin, "check-config", "-config", path)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), c.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), c.stdout)
			}
			for _, w := range c.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr.String(), w)
				}
			}
			if c.noStderr && stderr.Len() > 0 {
				t.Errorf("stderr not empty: %s", stderr.String())
			}
		})
	}
}
