package e2e

// Registered SIP clients (issue 5) end to end: sipgo user agents register
// with the daemon's registrar (digest, 401), are rung by <Dial><Client>,
// <Sip>sip:user@domain and REST To=client:…, and call out through their SIP
// domain (digest, 407). A sipgo UA plays the client because it can register
// and then take a new INVITE on the same socket, which a SIPp process
// cannot; SIPp stays the carrier.

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	"go.uber.org/goleak"
)

const (
	clientDomain = "pbx.e2e.test"
	// Passwords as the API demands them (≥ 12 characters, upper, lower,
	// digit).
	alicePassword = "Wonderland2026"
	bobPassword   = "Builder2026xyz"
	// clientIP is where the clients' SIP sockets live: another loopback
	// address than the carrier's (SIPp binds 127.0.0.1), so that a
	// client's calls are told from the carrier's by their source.
	clientIP = "127.0.0.2"
)

// provisionDomain creates, through twilio-go, the SIP domain clientDomain
// (registrations on, voice URL voicePath, status callback /status/domain)
// and a credential list with users, mapped for registrations and for
// calls. It returns the domain's SID.
func provisionDomain(t *testing.T, d *tandem, a *app, voicePath string, users map[string]string) string {
	t.Helper()
	dp := &openapi.CreateSipDomainParams{}
	dp.SetDomainName(clientDomain).SetFriendlyName("e2e clients").
		SetVoiceUrl(a.url(voicePath)).SetVoiceMethod("POST").
		SetVoiceStatusCallbackUrl(a.url("/status/domain")).SetSipRegistration(true)
	dom, err := d.client.Api.CreateSipDomain(dp)
	if err != nil {
		t.Fatalf("create SIP domain: %v", err)
	}
	cl, err := d.client.Api.CreateSipCredentialList((&openapi.CreateSipCredentialListParams{}).SetFriendlyName("e2e users"))
	if err != nil {
		t.Fatalf("create credential list: %v", err)
	}
	for user, pw := range users {
		if _, err := d.client.Api.CreateSipCredential(*cl.Sid, (&openapi.CreateSipCredentialParams{}).SetUsername(user).SetPassword(pw)); err != nil {
			t.Fatalf("create credential %s: %v", user, err)
		}
	}
	if _, err := d.client.Api.CreateSipAuthRegistrationsCredentialListMapping(*dom.Sid,
		(&openapi.CreateSipAuthRegistrationsCredentialListMappingParams{}).SetCredentialListSid(*cl.Sid)); err != nil {
		t.Fatalf("map credentials for registrations: %v", err)
	}
	if _, err := d.client.Api.CreateSipAuthCallsCredentialListMapping(*dom.Sid,
		(&openapi.CreateSipAuthCallsCredentialListMappingParams{}).SetCredentialListSid(*cl.Sid)); err != nil {
		t.Fatalf("map credentials for calls: %v", err)
	}
	return *dom.Sid
}

// Client behaviours on an incoming INVITE (after 180 Ringing).
const (
	clientAnswer = "answer" // 200 with SDP (once gate is closed, if set)
	clientBusy   = "busy"   // 486
	clientRing   = "ring"   // ring until CANCEL
)

// sipClient is a registered SIP client: one sipgo UA whose single UDP
// socket registers, takes INVITEs (and their CANCEL, ACK, BYE) and places
// calls; plus a UDP socket for its media. It owns its goroutines: close
// stops the server, waits for it and for every request handler.
type sipClient struct {
	t        *testing.T
	d        *tandem
	user     string
	ua       *sipgo.UserAgent
	cl       *sipgo.Client
	conn     *net.UDPConn
	rtp      *rtpPeer
	served   chan struct{}
	closing  chan struct{}
	handlers sync.WaitGroup

	mode string
	gate chan struct{} // clientAnswer waits for it when non-nil

	mu       sync.Mutex
	closed   bool
	invites  []*sip.Request
	cancels  int
	answered int
	byes     int
}

// newSIPClient starts a client UA for user on a fresh socket at clientIP.
// It does not register yet.
func newSIPClient(t *testing.T, d *tandem, user, mode string) *sipClient {
	t.Helper()
	c := &sipClient{t: t, d: d, user: user, mode: mode, served: make(chan struct{}), closing: make(chan struct{})}
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname(clientDomain))
	if err != nil {
		t.Fatal(err)
	}
	c.ua = ua
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(clientIP)})
	if err != nil {
		ua.Close()
		t.Fatalf("client socket on %s: %v", clientIP, err)
	}
	c.conn = conn
	c.rtp = newRTPPeer(t)
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnInvite(c.handle(c.onInvite))
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnBye(c.handle(c.onBye))
	srv.OnCancel(c.handle(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL that matched no INVITE transaction (RFC 3261 §9.2).
		c.mu.Lock()
		c.cancels++
		c.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	}))
	go func() {
		defer close(c.served)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(c.close)
	// The client must send from the socket it serves on, so that tandem's
	// requests reach it where its REGISTER came from: wait until sipgo
	// has put the socket in its pool.
	waitUntil(t, 5*time.Second, "the client socket in sipgo's pool", func() bool {
		cn, err := ua.TransportLayer().GetConnection("udp", conn.LocalAddr().String())
		return err == nil && cn != nil
	})
	c.cl, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(conn.LocalAddr().String()), sipgo.WithClientHostname(clientIP))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *sipClient) addr() string { return c.conn.LocalAddr().String() }

func (c *sipClient) port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

// handle wraps a request handler so that close waits for it.
func (c *sipClient) handle(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.handlers.Add(1)
		c.mu.Unlock()
		defer c.handlers.Done()
		h(req, tx)
	}
}

func (c *sipClient) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	close(c.closing)
	c.conn.Close()
	<-c.served
	c.handlers.Wait()
	c.ua.Close()
}

// onInvite answers per the client's mode, with one To tag for all its
// responses (RFC 3261 §8.2.6.2).
func (c *sipClient) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	tx.OnCancel(func(*sip.Request) {
		c.mu.Lock()
		c.cancels++
		c.mu.Unlock()
	})
	c.mu.Lock()
	c.invites = append(c.invites, req)
	c.mu.Unlock()
	tagged := req.Clone()
	tagged.To().Params.Add("tag", sip.GenerateTagN(10))
	if err := tx.Respond(sip.NewResponseFromRequest(tagged, 180, "Ringing", nil)); err != nil {
		return
	}
	switch c.mode {
	case clientBusy:
		_ = tx.Respond(sip.NewResponseFromRequest(tagged, 486, "Busy Here", nil))
	case clientRing:
		select {
		case <-tx.Done():
		case <-c.closing:
		}
	case clientAnswer:
		if c.gate != nil {
			select {
			case <-c.gate:
			case <-tx.Done():
				return
			case <-c.closing:
				return
			}
		}
		res := sip.NewResponseFromRequest(tagged, 200, "OK", []byte(sdpFor(c.user, c.rtp.port())))
		res.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s>", c.user, c.addr())))
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		if err := tx.Respond(res); err == nil {
			c.mu.Lock()
			c.answered++
			c.mu.Unlock()
		}
	}
}

func (c *sipClient) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c.mu.Lock()
	c.byes++
	c.mu.Unlock()
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// counts returns what the client has seen so far.
func (c *sipClient) counts() (invites, cancels, answered, byes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.invites), c.cancels, c.answered, c.byes
}

func (c *sipClient) invite(i int) *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.invites[i]
}

// waitFor waits until cond holds over the client's counts.
func (c *sipClient) waitFor(what string, cond func(invites, cancels, answered, byes int) bool) {
	c.t.Helper()
	waitUntil(c.t, 10*time.Second, c.user+" at "+c.addr()+": "+what, func() bool { return cond(c.counts()) })
}

// register sends REGISTER for user@clientDomain and answers the 401 with
// password. The Contact it registers is not where the client listens (as
// for a client behind NAT, it names a private address; here another
// loopback address with nothing on it, so that nothing leaves the host):
// tandem must reach the client where the REGISTER came from (RFC 3581).
// It returns the first and the final response.
func (c *sipClient) register(password string, expires int) (challenge, final *sip.Response) {
	c.t.Helper()
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: clientDomain})
	req.SetDestination(c.d.sipAddr())
	aor := sip.Uri{Scheme: "sip", User: c.user, Host: clientDomain}
	req.AppendHeader(&sip.ToHeader{Address: aor})
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(sip.NewHeader("Contact", c.contact()))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.cl.Do(ctx, req)
	if err != nil {
		c.t.Fatalf("REGISTER %s: %v", c.user, err)
	}
	if res.StatusCode != 401 {
		return res, res
	}
	final, err = c.cl.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: c.user, Password: password})
	if err != nil {
		c.t.Fatalf("REGISTER %s with credentials: %v", c.user, err)
	}
	return res, final
}

// contact is the URI the client registers: a loopback address nothing
// listens on, with the client's port (unique per client).
func (c *sipClient) contact() string {
	return fmt.Sprintf("<sip:%s@127.0.0.9:%d>", c.user, c.port())
}

// mustRegister registers with the right password and expects 200.
func (c *sipClient) mustRegister(password string) {
	c.t.Helper()
	challenge, final := c.register(password, 300)
	if challenge.StatusCode != 401 || final.StatusCode != 200 {
		c.t.Fatalf("REGISTER %s: %d then %d, want 401 then 200", c.user, challenge.StatusCode, final.StatusCode)
	}
}

// call sends an INVITE from user@clientDomain to ruri and answers the 407
// with password; it returns the first and the final response. Non-2xx
// finals are ACKed by sipgo's client transaction.
func (c *sipClient) call(ruri sip.Uri, password string) (challenge, final *sip.Response, callID string) {
	c.t.Helper()
	req := sip.NewRequest(sip.INVITE, ruri)
	req.SetDestination(c.d.sipAddr())
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.user, Host: clientDomain}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: ruri})
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s>", c.user, c.addr())))
	req.AppendHeader(sip.NewHeader("X-Desk", "7b"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(sdpFor(c.user, c.rtp.port())))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.cl.Do(ctx, req)
	if err != nil {
		c.t.Fatalf("INVITE %s: %v", ruri.String(), err)
	}
	callID = req.CallID().Value()
	if res.StatusCode != 407 {
		return res, res, callID
	}
	final, err = c.cl.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: c.user, Password: password})
	if err != nil {
		c.t.Fatalf("INVITE %s with credentials: %v", ruri.String(), err)
	}
	return res, final, callID
}

// verifyNoGoroutineLeaks registers, before anything else of the test, a
// cleanup that runs last (cleanups run in reverse): once the daemon, the
// app server, SIPp and the clients are gone, no goroutine of the test may
// be left.
func verifyNoGoroutineLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		goleak.VerifyNone(t, opt)
	})
}

var (
	sdpPort = regexp.MustCompile(`(?m)^m=audio ([0-9]+) `)
	sdpConn = regexp.MustCompile(`(?m)^c=IN IP4 ([0-9.]+)`)
)

// mediaAddr is the RTP address an SDP body names.
func mediaAddr(t *testing.T, body []byte) *net.UDPAddr {
	t.Helper()
	pm, cm := sdpPort.FindSubmatch(body), sdpConn.FindSubmatch(body)
	if pm == nil || cm == nil {
		t.Fatalf("no media address in SDP:\n%s", body)
	}
	port, _ := strconv.Atoi(string(pm[1]))
	return &net.UDPAddr{IP: net.ParseIP(string(cm[1])), Port: port}
}

// TestClientRegistersWithDigest: REGISTER is challenged with 401; a wrong
// password is refused and registers nothing; the right one gets 200 with
// the contact and its expiry, and the daemon counts the registration; a
// second device of the same user adds a contact; Expires: 0 removes it.
func TestClientRegistersWithDigest(t *testing.T) {
	verifyNoGoroutineLeaks(t)
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	provisionDomain(t, d, a, "/domain-voice", map[string]string{"alice": alicePassword})
	registrations := func() float64 {
		v, ok := d.metric("tandem_sip_registrations")
		if !ok {
			t.Fatal("metric tandem_sip_registrations missing")
		}
		return v
	}

	phone := newSIPClient(t, d, "alice", clientRing)
	challenge, final := phone.register("Wrong2026password", 300)
	if challenge.StatusCode != 401 || challenge.GetHeader("WWW-Authenticate") == nil ||
		!strings.Contains(challenge.GetHeader("WWW-Authenticate").Value(), `realm="tandem"`) {
		t.Fatalf("REGISTER without credentials: %d %v, want 401 with a digest challenge for realm tandem", challenge.StatusCode, challenge.GetHeader("WWW-Authenticate"))
	}
	if final.StatusCode != 403 && final.StatusCode != 401 {
		t.Fatalf("REGISTER with a wrong password: %d, want 403 (or another 401)", final.StatusCode)
	}
	if n := registrations(); n != 0 {
		t.Fatalf("tandem_sip_registrations = %v after a refused REGISTER, want 0", n)
	}

	challenge, final = phone.register(alicePassword, 300)
	if challenge.StatusCode != 401 || final.StatusCode != 200 {
		t.Fatalf("REGISTER with the right password: %d then %d, want 401 then 200", challenge.StatusCode, final.StatusCode)
	}
	if cs := final.GetHeaders("Contact"); len(cs) != 1 || !strings.Contains(cs[0].Value(), strings.Trim(phone.contact(), "<>")) ||
		!strings.Contains(cs[0].Value(), "expires=300") {
		t.Errorf("200 to REGISTER lists contacts %v, want %s;expires=300", cs, phone.contact())
	}
	if n := registrations(); n != 1 {
		t.Errorf("tandem_sip_registrations = %v, want 1", n)
	}

	// A second device of alice: both contacts are listed and counted.
	desk := newSIPClient(t, d, "alice", clientRing)
	_, final = desk.register(alicePassword, 600)
	if final.StatusCode != 200 || len(final.GetHeaders("Contact")) != 2 {
		t.Fatalf("second device: %d with contacts %v, want 200 with 2", final.StatusCode, final.GetHeaders("Contact"))
	}
	if n := registrations(); n != 2 {
		t.Errorf("tandem_sip_registrations = %v with two devices, want 2", n)
	}
	// Expires: 0 removes the first device's contact only.
	if _, final = phone.register(alicePassword, 0); final.StatusCode != 200 || len(final.GetHeaders("Contact")) != 1 {
		t.Fatalf("unregister: %d with contacts %v, want 200 with the other device's", final.StatusCode, final.GetHeaders("Contact"))
	}
	if n := registrations(); n != 1 {
		t.Errorf("tandem_sip_registrations = %v after one device unregistered, want 1", n)
	}
}

// TestDialClientWithParameters: a carrier call's <Dial><Client> with an
// <Identity> and a <Parameter> rings the registered client with X-Ticket,
// on a dedicated media port; RTP flows both ways; the caller hangs up, the
// client gets BYE, and the Dial action reports completed.
func TestDialClientWithParameters(t *testing.T) {
	verifyNoGoroutineLeaks(t)
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	provisionDomain(t, d, a, "/domain-voice", map[string]string{"alice": alicePassword})
	alice := newSIPClient(t, d, "alice", clientAnswer)
	alice.mustRegister(alicePassword)

	a.on("/voice", `<Response><Dial answerOnBridge="true" action="/dial-done">`+
		`<Client statusCallback="/status/leg" statusCallbackEvent="answered completed">`+
		`<Identity>alice</Identity><Parameter name="Ticket" value="9"/></Client></Dial></Response>`)
	a.on("/dial-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)

	caller := newRTPPeer(t)
	portFile := t.TempDir() + "/a.port"
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, From: callerNumber, RTPPort: caller.port(), PortFile: portFile,
		End: "bye", Hold: 3 * time.Second})
	alice.waitFor("the INVITE answered", func(inv, _, ans, _ int) bool { return inv == 1 && ans == 1 })
	inv := alice.invite(0)
	if got := inv.GetHeader("X-Ticket"); got == nil || got.Value() != "9" {
		t.Errorf("INVITE to the client: X-Ticket %v, want 9", got)
	}
	if inv.Recipient.User != "alice" || inv.Recipient.Host != "127.0.0.9" || inv.Recipient.Port != alice.port() {
		t.Errorf("INVITE Request-URI %s, want the registered contact %s", inv.Recipient.String(), alice.contact())
	}
	if inv.Source() != d.sipAddr() {
		t.Errorf("INVITE to the client came from %s, want tandem's SIP socket %s", inv.Source(), d.sipAddr())
	}

	// Media: once the client leg is answered (its callback), RTP both ways.
	a.wait("/status/leg", 1, 5*time.Second)
	if n, _ := d.metric("tandem_media_dedicated_legs"); n < 1 {
		t.Errorf("tandem_media_dedicated_legs = %v during the client call, want the client's leg on a dedicated port", n)
	}
	toClient := mediaAddr(t, inv.Body())
	if !toClient.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("the client's offer names media at %s, want tandem's media interface 127.0.0.1", toClient)
	}
	aPort := readPort(t, portFile)
	const n = 30
	errc := make(chan error, 1)
	go func() { errc <- caller.send(aPort, n, 0x1111) }()
	if err := alice.rtp.send(toClient.Port, n, 0x2222); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Second, "RTP both ways between carrier and client", func() bool {
		return caller.received.Load() >= n && alice.rtp.received.Load() >= n
	})

	mustSucceed(t, "caller", uac)
	alice.waitFor("BYE after the caller hung up", func(_, _, _, byes int) bool { return byes == 1 })
	done := a.wait("/dial-done", 1, 5*time.Second)[0]
	expectParams(t, done, map[string]string{"DialCallStatus": "completed", "DialBridged": "true"})
	if done.Form.Get("DialCallSid") == "" {
		t.Errorf("Dial action lacks DialCallSid: %v", done.Form)
	}
	legs := a.wait("/status/leg", 2, 5*time.Second)
	expectParams(t, legs[0], map[string]string{"CallStatus": "in-progress", "Direction": "outbound-dial", "To": "client:alice"})
	expectParams(t, legs[1], map[string]string{"CallStatus": "completed"})
	if _, cancels, _, _ := alice.counts(); cancels != 0 {
		t.Errorf("the answering client got %d CANCELs", cancels)
	}
}

// TestClientForksToEveryContact: alice registered from two devices; both
// ring at once; the first to answer wins and the other gets CANCEL.
func TestClientForksToEveryContact(t *testing.T) {
	verifyNoGoroutineLeaks(t)
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	provisionDomain(t, d, a, "/domain-voice", map[string]string{"alice": alicePassword})
	first := newSIPClient(t, d, "alice", clientAnswer)
	first.gate = make(chan struct{})
	second := newSIPClient(t, d, "alice", clientRing)
	first.mustRegister(alicePassword)
	second.mustRegister(alicePassword)

	a.on("/voice", `<Response><Dial answerOnBridge="true" action="/dial-done"><Client>alice</Client></Dial></Response>`)
	a.on("/dial-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "bye", Hold: 300 * time.Millisecond})

	// Both devices ring before either answers: the forks go out at once.
	first.waitFor("the INVITE", func(inv, _, _, _ int) bool { return inv == 1 })
	second.waitFor("the INVITE", func(inv, _, _, _ int) bool { return inv == 1 })
	close(first.gate)
	second.waitFor("CANCEL once the other device answered", func(_, cancels, _, _ int) bool { return cancels == 1 })
	mustSucceed(t, "caller", uac)
	first.waitFor("BYE", func(_, _, _, byes int) bool { return byes == 1 })

	if inv, cancels, answered, _ := first.counts(); inv != 1 || cancels != 0 || answered != 1 {
		t.Errorf("winner: %d INVITEs, %d CANCELs, %d answers; want 1, 0, 1", inv, cancels, answered)
	}
	if inv, cancels, answered, byes := second.counts(); inv != 1 || cancels != 1 || answered != 0 || byes != 0 {
		t.Errorf("loser: %d INVITEs, %d CANCELs, %d answers, %d BYEs; want 1, 1, 0, 0", inv, cancels, answered, byes)
	}
	if first.invite(0).CallID().Value() == second.invite(0).CallID().Value() {
		t.Error("both forks carry the same Call-ID; each branch of a parallel Dial is its own dialog")
	}
	expectParams(t, a.wait("/dial-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed", "DialBridged": "true"})
	calls := waitRecords(t, d, 3)
	statuses := map[string]int{}
	for _, c := range byDirection(calls, "outbound-dial") {
		statuses[str(c.Status)]++
		if str(c.To) != "client:alice" {
			t.Errorf("child record To %q, want client:alice", str(c.To))
		}
	}
	if statuses["completed"] != 1 || statuses["canceled"] != 1 {
		t.Errorf("child statuses %v, want one completed and one canceled", statuses)
	}
}

// TestClientCallsOut: a registered client's INVITE is challenged with 407;
// a wrong password is refused; with the right one the domain's voice URL
// gets the call (From=sip:alice@domain, To=the Request-URI, SipDomain,
// SipUsername, …) and its TwiML runs (<Reject reason="busy"/> → 486).
func TestClientCallsOut(t *testing.T) {
	verifyNoGoroutineLeaks(t)
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	domainSID := provisionDomain(t, d, a, "/domain-voice", map[string]string{"alice": alicePassword})
	a.on("/domain-voice", `<Response><Reject reason="busy"/></Response>`)
	alice := newSIPClient(t, d, "alice", clientBusy)
	alice.mustRegister(alicePassword)
	ruri := sip.Uri{Scheme: "sip", User: "+14155550123", Host: clientDomain}

	challenge, final, _ := alice.call(ruri, "Wrong2026password")
	if challenge.StatusCode != 407 || challenge.GetHeader("Proxy-Authenticate") == nil {
		t.Fatalf("INVITE without credentials: %d, want 407 with Proxy-Authenticate", challenge.StatusCode)
	}
	if final.StatusCode != 403 && final.StatusCode != 407 {
		t.Fatalf("INVITE with a wrong password: %d, want 403 (or another 407)", final.StatusCode)
	}
	if got := a.requestsTo("/domain-voice"); len(got) != 0 {
		t.Fatalf("the voice URL was requested for a refused INVITE: %v", got[0].Form)
	}

	challenge, final, callID := alice.call(ruri, alicePassword)
	if challenge.StatusCode != 407 || final.StatusCode != 486 {
		t.Fatalf("INVITE with the right password: %d then %d, want 407 then 486 (<Reject reason=\"busy\"/>)", challenge.StatusCode, final.StatusCode)
	}
	voice := a.wait("/domain-voice", 1, 5*time.Second)[0]
	expectParams(t, voice, map[string]string{
		"AccountSid": testAccountSID, "From": "sip:alice@" + clientDomain, "To": "sip:+14155550123@" + clientDomain,
		"CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
		"SipDomain": clientDomain, "SipDomainSid": domainSID, "SipUsername": "alice",
		"SipCallId": callID, "SipSourceIp": clientIP, "SipHeader_X-Desk": "7b",
	})
	if !voice.SignatureOK {
		t.Error("domain voice URL: bad X-Twilio-Signature")
	}
	// Inbound SIP-domain calls report only completed, to the domain's
	// voice status callback (§3.4).
	cb := a.wait("/status/domain", 1, 5*time.Second)[0]
	expectParams(t, cb, map[string]string{"CallStatus": "busy", "CallSid": voice.Form.Get("CallSid"), "From": "sip:alice@" + clientDomain})
	calls := waitRecords(t, d, 1)
	if len(calls) != 1 || str(calls[0].Status) != "busy" || str(calls[0].From) != "sip:alice@"+clientDomain {
		t.Errorf("records: %d, first %+v; want one busy call from sip:alice@%s", len(calls), calls, clientDomain)
	}
}

// TestRESTCallToClient: To=client:alice?Ticket=7 rings alice with
// X-Ticket: 7, and the Url's request carries Ticket=7 in its query (§6).
func TestRESTCallToClient(t *testing.T) {
	verifyNoGoroutineLeaks(t)
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	provisionDomain(t, d, a, "/domain-voice", map[string]string{"alice": alicePassword})
	alice := newSIPClient(t, d, "alice", clientAnswer)
	alice.mustRegister(alicePassword)
	a.on("/rest-voice", `<Response><Hangup/></Response>`)

	p := &openapi.CreateCallParams{}
	p.SetTo("client:alice?Ticket=7")
	p.SetFrom(callerNumber)
	p.SetUrl(a.url("/rest-voice"))
	call, err := d.client.Api.CreateCall(p)
	if err != nil {
		t.Fatalf("create call: %v", err)
	}
	alice.waitFor("the INVITE answered, then BYE", func(inv, _, ans, byes int) bool { return inv == 1 && ans == 1 && byes == 1 })
	if got := alice.invite(0).GetHeader("X-Ticket"); got == nil || got.Value() != "7" {
		t.Errorf("INVITE to the client: X-Ticket %v, want 7", got)
	}
	voice := a.wait("/rest-voice", 1, 5*time.Second)[0]
	expectParams(t, voice, map[string]string{"CallSid": str(call.Sid), "CallStatus": "in-progress", "Direction": "outbound-api", "To": "client:alice"})
	if voice.Query.Get("Ticket") != "7" {
		t.Errorf("the Url's request lacks Ticket=7 in its query: %s", voice.URL)
	}
	if !voice.SignatureOK {
		t.Error("Url request: bad X-Twilio-Signature")
	}
	calls := waitRecords(t, d, 1)
	if str(calls[0].Status) != "completed" || str(calls[0].To) != "client:alice" {
		t.Errorf("record: status %s to %s, want completed to client:alice", str(calls[0].Status), str(calls[0].To))
	}
}

// TestDialSipURIOfDomainUser: <Sip>sip:alice@DOMAIN</Sip> rings alice's
// registered contact (not a DNS lookup of the domain); a second user who
// is busy gets 486 through the same path.
func TestDialSipURIOfDomainUser(t *testing.T) {
	verifyNoGoroutineLeaks(t)
	d := startTandem(t, daemonOptions{})
	a := newApp(t)
	provisionDomain(t, d, a, "/domain-voice", map[string]string{"alice": alicePassword, "bob": bobPassword})
	alice := newSIPClient(t, d, "alice", clientAnswer)
	alice.mustRegister(alicePassword)
	bob := newSIPClient(t, d, "bob", clientBusy)
	bob.mustRegister(bobPassword)

	a.on("/voice", `<Response><Dial answerOnBridge="true" action="/bob-done"><Sip>sip:bob@`+clientDomain+`</Sip></Dial></Response>`)
	a.on("/bob-done", `<Response><Dial answerOnBridge="true" action="/alice-done"><Sip>sip:alice@`+clientDomain+`?X-Queue=sales</Sip></Dial></Response>`)
	a.on("/alice-done", `<Response><Hangup/></Response>`)
	provision(t, d, a, "/voice", nil)
	uac := startUAC(t, d, uacOptions{Service: inboundNumber, End: "bye", Hold: 300 * time.Millisecond})
	mustSucceed(t, "caller", uac)
	alice.waitFor("the INVITE answered, then BYE", func(inv, _, ans, byes int) bool { return inv == 1 && ans == 1 && byes == 1 })
	bob.waitFor("the INVITE", func(inv, _, _, _ int) bool { return inv == 1 })

	expectParams(t, a.wait("/bob-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "busy", "DialSipResponseCode": "486"})
	expectParams(t, a.wait("/alice-done", 1, 5*time.Second)[0], map[string]string{"DialCallStatus": "completed", "DialSipResponseCode": "200"})
	if got := alice.invite(0).GetHeader("X-Queue"); got == nil || got.Value() != "sales" {
		t.Errorf("INVITE to alice: X-Queue %v, want sales (from the <Sip> URI's headers)", got)
	}
}
