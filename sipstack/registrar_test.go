package sipstack

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

const testRealm = "sip.test"

// testCreds is a credential store with users of the domain sip.test.
type testCreds struct {
	mu      sync.Mutex
	users   map[string]string
	lookups int
}

func (c *testCreds) Domain(_ context.Context, d string) (bool, error) { return d == "sip.test", nil }

func (c *testCreds) Lookup(_ context.Context, domain, user string, _ Purpose) (string, string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	pw, ok := c.users[user]
	if !ok || domain != "sip.test" {
		return "", "", false, nil
	}
	return HA1("MD5", user, testRealm, pw), HA1("SHA-256", user, testRealm, pw), true, nil
}

func registrarConfig() Config {
	cfg := testConfig()
	cfg.Registrar.Realm = testRealm
	// Calls from clients are not from a trunk: trust no trunk on loopback.
	cfg.InboundTrunks = []InboundTrunk{{Name: "carrier", CIDRs: []string{"192.0.2.0/24"}}}
	return cfg
}

// sipgoClient is a real digest-capable UA (sipgo with icholy/digest), the
// kind of independent peer a registrar must interoperate with.
func sipgoClient(t *testing.T) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("sip.test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	// The client sends from a socket of the test's own, closed at cleanup:
	// a connection sipgo creates by itself for a client can outlive
	// ua.Close (its reference count goes negative and the reader is never
	// stopped), which the leak check then reports.
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() { conn.Close(); <-served })
	time.Sleep(20 * time.Millisecond) // let sipgo register the socket in its pool
	c, err := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(conn.LocalAddr().String()), sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func register(t *testing.T, c *sipgo.Client, s *Stack, user, password, contact string, expires int, extra ...sip.Header) *sip.Response {
	t.Helper()
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "sip.test"})
	req.SetDestination(s.Addr("udp").String())
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "sip.test"}})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "sip.test"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(sip.NewHeader("Contact", contact))
	req.AppendHeader(sip.NewHeader("Expires", itoa(expires)))
	for _, h := range extra {
		req.AppendHeader(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil {
		t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode == 401 {
		res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
		if err != nil {
			t.Fatalf("REGISTER with auth: %v", err)
		}
	}
	return res
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

func TestRegistrarDigestContactsExpiry(t *testing.T) {
	clk := &fakeClock{}
	clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	creds := &testCreds{users: map[string]string{"alice": "wonderland"}}
	s := startStack(t, registrarConfig(), WithCredentials(creds), WithClock(clk.now))
	c := sipgoClient(t)

	if r := register(t, c, s, "alice", "wrong", "<sip:alice@192.0.2.10:5060>", 300); r.StatusCode != 403 {
		t.Fatalf("wrong password: %d, want 403", r.StatusCode)
	}
	if n := len(s.Contacts("sip.test", "alice")); n != 0 {
		t.Fatalf("contacts after refusal: %d", n)
	}
	r := register(t, c, s, "alice", "wonderland", "<sip:alice@192.0.2.10:5060>", 300)
	if r.StatusCode != 200 || !strings.Contains(headerOf(r, "Contact"), "expires=300") {
		t.Fatalf("register: %d contact=%q", r.StatusCode, headerOf(r, "Contact"))
	}
	// A second device of the same user, with a longer expiry (capped at max).
	r = register(t, c, s, "alice", "wonderland", "<sip:alice@192.0.2.11:5060;transport=udp>", 7200)
	if r.StatusCode != 200 || len(r.GetHeaders("Contact")) != 2 {
		t.Fatalf("second contact: %d %v", r.StatusCode, r.GetHeaders("Contact"))
	}
	cs := s.Contacts("SIP.test", "Alice")
	if len(cs) != 2 {
		t.Fatalf("contacts = %+v", cs)
	}
	if cs[0].URI != "sip:alice@192.0.2.11:5060;transport=udp" || cs[1].URI != "sip:alice@192.0.2.10:5060" {
		t.Errorf("contact order/URIs: %+v", cs)
	}
	// rport/received: the contact is reached where the REGISTER came from.
	if !strings.HasPrefix(cs[0].Destination, "127.0.0.1:") || cs[0].Transport != "udp" {
		t.Errorf("destination = %q %q", cs[0].Destination, cs[0].Transport)
	}
	if s.Stats().Registrations != 2 {
		t.Errorf("registrations gauge = %d", s.Stats().Registrations)
	}
	// Too short an expiry: 423 with Min-Expires.
	if r := register(t, c, s, "alice", "wonderland", "<sip:alice@192.0.2.12>", 10); r.StatusCode != 423 || headerOf(r, "Min-Expires") != "60" {
		t.Fatalf("short expiry: %d %q", r.StatusCode, headerOf(r, "Min-Expires"))
	}
	// The first contact expires after 300 s; the second lives to max (3600 s).
	clk.advance(301 * time.Second)
	if cs := s.Contacts("sip.test", "alice"); len(cs) != 1 || !strings.Contains(cs[0].URI, "192.0.2.11") {
		t.Fatalf("after expiry: %+v", cs)
	}
	// Unregister everything: Contact: * with Expires: 0.
	if r := register(t, c, s, "alice", "wonderland", "*", 0); r.StatusCode != 200 {
		t.Fatalf("unregister: %d", r.StatusCode)
	}
	if cs := s.Contacts("sip.test", "alice"); len(cs) != 0 {
		t.Fatalf("after unregister: %+v", cs)
	}
	// Unknown user and unknown domain.
	if r := register(t, c, s, "mallory", "x", "<sip:m@192.0.2.1>", 300); r.StatusCode != 403 {
		t.Errorf("unknown user: %d", r.StatusCode)
	}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "other.test"})
	req.SetDestination(s.Addr("udp").String())
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "other.test"}})
	res, err := c.Do(context.Background(), req)
	if err != nil || res.StatusCode != 404 {
		t.Errorf("unknown domain: %v %v", res, err)
	}
}

// TestRegistrarNonceReplayAndStaleness replays a captured Authorization:
// the registrar must not accept the same nonce-count twice, and an expired
// nonce gets a fresh challenge with stale=true.
func TestRegistrarNonceReplayAndStaleness(t *testing.T) {
	clk := &fakeClock{}
	clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	s := startStack(t, registrarConfig(), WithCredentials(&testCreds{users: map[string]string{"bob": "builder"}}), WithClock(clk.now))
	c := newRawClient(t, s.Addr("udp").String())
	reg := func(cseq int, auth string) *sip.Response {
		msg := "REGISTER sip:sip.test SIP/2.0\n" +
			"Via: SIP/2.0/UDP " + c.addr() + ";branch=z9hG4bK-r" + itoa(cseq) + "\n" +
			"From: <sip:bob@sip.test>;tag=r1\nTo: <sip:bob@sip.test>\nCall-ID: reg-replay\nCSeq: " + itoa(cseq) + " REGISTER\n" +
			"Contact: <sip:bob@192.0.2.20>\nExpires: 300\n"
		if auth != "" {
			msg += "Authorization: " + auth + "\n"
		}
		c.send(msg + "Content-Length: 0\n\n")
		return c.recvResponse(200, 2*time.Second)
	}
	r := reg(1, "")
	if r == nil || r.StatusCode != 401 || len(r.GetHeaders("WWW-Authenticate")) != 2 {
		t.Fatalf("challenge: %v", r)
	}
	// Answer the SHA-256 challenge (the second) with our own client code.
	ch, err := parseChallenge(r.GetHeaders("WWW-Authenticate")[1].Value())
	if err != nil || ch.algorithm != "SHA-256" {
		t.Fatalf("challenge: %+v %v", ch, err)
	}
	auth := ch.authorization("bob", "builder", "REGISTER", "sip:sip.test")
	if r := reg(2, auth); r == nil || r.StatusCode != 200 {
		t.Fatalf("SHA-256 register: %v", r)
	}
	if r := reg(3, auth); r == nil || r.StatusCode != 401 || !strings.Contains(headerOf(r, "WWW-Authenticate"), "stale=true") {
		t.Fatalf("replayed credentials: %v", r)
	}
	clk.advance(10 * time.Minute)
	fresh := ch.authorization("bob", "builder", "REGISTER", "sip:sip.test")
	if r := reg(4, fresh); r == nil || r.StatusCode != 401 || !strings.Contains(headerOf(r, "WWW-Authenticate"), "stale=true") {
		t.Fatalf("expired nonce: %v", r)
	}
}

// TestInviteFromClientChallengedThenAccepted: an INVITE from a client of a
// domain (not a trunk) gets 407; with credentials it reaches the handler
// marked with the domain and user.
func TestInviteFromClientChallengedThenAccepted(t *testing.T) {
	creds := &testCreds{users: map[string]string{"alice": "wonderland"}}
	got := make(chan [2]string, 1)
	s := startStack(t, registrarConfig(), WithCredentials(creds), WithInviteHandler(func(call *InboundCall) {
		got <- [2]string{call.Domain(), call.Username()}
		_ = call.Reject(486, "", nil)
	}))
	c := sipgoClient(t)
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "+15550001111", Host: "sip.test"})
	req.SetDestination(s.Addr("udp").String())
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "sip.test"}, Params: sip.NewParams()}
	from.Params.Add("tag", "a1")
	req.AppendHeader(from)
	req.AppendHeader(sip.NewHeader("Contact", "<sip:alice@127.0.0.1>"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(testSDP))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil || res.StatusCode != 407 {
		t.Fatalf("first INVITE: %v %v", res, err)
	}
	res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "alice", Password: "wonderland"})
	if err != nil || res.StatusCode != 486 {
		t.Fatalf("authenticated INVITE: %v %v", res, err)
	}
	select {
	case id := <-got:
		if id != [2]string{"sip.test", "alice"} {
			t.Fatalf("identity = %v", id)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("handler not reached")
	}
}

// TestDialRegisteredContactBehindNAT: a sipgo UA registers a contact that
// is not routable (as a client behind NAT would); Contacts gives where the
// REGISTER really came from, and Dial with that Destination reaches the UA,
// which answers; BYE goes the same way.
func TestDialRegisteredContactBehindNAT(t *testing.T) {
	creds := &testCreds{users: map[string]string{"alice": "wonderland"}}
	s := startStack(t, registrarConfig(), WithCredentials(creds))

	// The client: one UDP socket for REGISTER and for receiving the call.
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("sip.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	byes := make(chan struct{}, 1)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", []byte(testSDP))
		res.AppendHeader(sip.NewHeader("Contact", "<sip:alice@192.0.2.99:5099>"))
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		_ = tx.Respond(res)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		byes <- struct{}{}
	})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeUDP(conn)
	}()
	defer func() { conn.Close(); <-served }()
	time.Sleep(20 * time.Millisecond) // let sipgo register the socket in its pool
	client, _ := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(conn.LocalAddr().String()), sipgo.WithClientHostname("127.0.0.1"))

	if r := register(t, client, s, "alice", "wonderland", "<sip:alice@192.0.2.99:5099>", 300); r.StatusCode != 200 {
		t.Fatalf("register: %d", r.StatusCode)
	}
	cs := s.Contacts("sip.test", "alice")
	if len(cs) != 1 || cs[0].URI != "sip:alice@192.0.2.99:5099" || cs[0].Destination != conn.LocalAddr().String() {
		t.Fatalf("contacts = %+v (client at %s)", cs, conn.LocalAddr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	oc, err := s.Dial(ctx, DialRequest{Target: cs[0].URI, Destination: cs[0].Destination, Transport: cs[0].Transport, SDP: []byte(testSDP)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.Wait(ctx); err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := oc.Hangup(ctx, nil); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	select {
	case <-byes:
	case <-ctx.Done():
		t.Fatal("the client got no BYE")
	}
}

// TestRegisterWithSIPp: SIPp's digest implementation registers too.
func TestRegisterWithSIPp(t *testing.T) {
	s := startStack(t, registrarConfig(), WithCredentials(&testCreds{users: map[string]string{"alice": "wonderland"}}))
	if res := sippUAC(t, s, "uac_register", 1); !res.OK() {
		t.Fatalf("sipp: %v", res)
	}
	if cs := s.Contacts("sip.test", "alice"); len(cs) != 1 || !strings.HasPrefix(cs[0].Destination, "127.0.0.1:") {
		t.Fatalf("contacts = %+v", cs)
	}
}
