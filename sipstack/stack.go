package sipstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// InviteHandler is called for each admitted, validated inbound INVITE on a
// goroutine of its own (the number of such goroutines is bounded by the
// admission caps). It should give the call a final answer (Answer or Reject)
// before it returns; if it does not, the stack answers 500. It may keep
// running for the whole call.
type InviteHandler func(call *InboundCall)

// Option configures a Stack.
type Option func(*Stack) error

// WithLogger sets the logger (nil discards). sipgo's own logs pass through a
// rate-limited, truncating handler on their way to it.
func WithLogger(l *slog.Logger) Option {
	return func(s *Stack) error {
		if l != nil {
			s.log = l
		}
		return nil
	}
}

// WithClock injects the clock used by admission buckets and the registrar
// (tests pass a fake one; timers still run on real time).
func WithClock(now func() time.Time) Option {
	return func(s *Stack) error {
		if now == nil {
			return fmt.Errorf("sipstack: WithClock(nil)")
		}
		s.now = now
		return nil
	}
}

// WithInviteHandler sets the handler for inbound calls.
func WithInviteHandler(h InviteHandler) Option {
	return func(s *Stack) error {
		s.handler = h
		return nil
	}
}

// Stack is tandem's SIP stack: listeners, admission, dialogs.
type Stack struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	handler InviteHandler
	creds   Credentials

	ua     *sipgo.UserAgent
	tp     *sip.TransportLayer
	txl    *sip.TransactionLayer
	parser *sip.Parser

	stats   counters
	adm     *admission
	trunks  *trunkTable
	routes  []OutboundTrunk
	dialogs dialogTable
	reg     *registrar

	udp []*udpSocket
	tcp []*tcpListener

	// What we write into Via, Contact and From.
	host    string
	udpPort int
	tcpPort int
	udpAddr sip.Addr // the socket outbound UDP requests leave from
	ourHost map[string]bool
	ourPort map[int]bool

	dropUnknown bool
	allow       string
	// Constant headers, built once and shared by every message we send:
	// sipgo reads appended headers when it writes a message and never
	// changes them, and a fresh copy per message cost four allocations
	// per call. Nil when the configuration leaves them out.
	hdrServer, hdrUserAgent, hdrAllow, hdrSDP sip.Header

	draining  atomic.Bool
	started   atomic.Bool
	closing   chan struct{}
	closeOnce sync.Once
	// mu guards closed against wg.Add racing Close's wg.Wait. Every request
	// and dialog goroutine takes it shared (RLock: an atomic add, no
	// waiting); only Close takes it exclusively.
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

// New builds a stack from a validated configuration. It binds nothing until
// Start.
func New(cfg Config, opts ...Option) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sipstack config: %w", err)
	}
	s := &Stack{
		cfg:     cfg,
		log:     slog.New(discardHandler{}),
		now:     time.Now,
		closing: make(chan struct{}),
		routes:  append([]OutboundTrunk(nil), cfg.OutboundTrunks...),
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	trunks, err := newTrunkTable(cfg.InboundTrunks)
	if err != nil {
		return nil, fmt.Errorf("sipstack inbound_trunks: %w", err)
	}
	s.trunks = trunks
	s.adm = newAdmission(cfg.Admission, &s.stats.inboundActive)
	s.dropUnknown = cfg.UnknownSource == "drop"
	s.dialogs.init()
	if cfg.Registrar.Realm != "" && s.creds != nil {
		s.reg = newRegistrar(s, cfg.Registrar)
	}
	methods := []string{"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REFER", "NOTIFY", "INFO"}
	if s.reg != nil {
		methods = append(methods, "REGISTER")
	}
	s.allow = strings.Join(methods, ", ")
	s.hdrAllow = sip.NewHeader("Allow", s.allow)
	s.hdrSDP = sip.NewHeader("Content-Type", "application/sdp")
	if cfg.UserAgent != "" {
		s.hdrServer = sip.NewHeader("Server", cfg.UserAgent)
		s.hdrUserAgent = sip.NewHeader("User-Agent", cfg.UserAgent)
	}

	sipLog := slog.New(newGuardHandler(s.log.Handler(), s.now, &s.stats)).With("component", "sipgo")
	s.parser = sip.NewParser()
	s.parser.MaxMessageLength = cfg.MaxMessageSize
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentParser(s.parser),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sipstack: %w", err)
	}
	s.ua = ua
	s.tp = ua.TransportLayer()
	s.txl = ua.TransactionLayer()
	s.txl.OnRequest(s.onRequest)
	s.tp.OnMessage(s.countIn)
	return s, nil
}

// Start binds the listeners and serves them in the background until Close.
// ctx bounds the binding only.
func (s *Stack) Start(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return fmt.Errorf("sipstack: already started")
	}
	if err := s.listen(ctx); err != nil {
		s.closeSockets()
		return err
	}
	s.host = s.cfg.AdvertiseHost
	s.ourHost = map[string]bool{}
	s.ourPort = map[int]bool{}
	for _, u := range s.udp {
		ap := addrPortOf(u.LocalAddr())
		if s.udpPort == 0 {
			s.udpPort = int(ap.Port())
			s.udpAddr = sip.Addr{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}
			if s.host == "" {
				s.host = ap.Addr().String()
			}
		}
		s.ourHost[ap.Addr().String()] = true
		s.ourPort[int(ap.Port())] = true
	}
	for _, t := range s.tcp {
		ap := addrPortOf(t.Addr())
		if s.tcpPort == 0 {
			s.tcpPort = int(ap.Port())
			if s.host == "" {
				s.host = ap.Addr().String()
			}
		}
		s.ourHost[ap.Addr().String()] = true
		s.ourPort[int(ap.Port())] = true
	}
	if p := s.cfg.AdvertisePort; p != 0 {
		s.udpPort, s.tcpPort = p, p
		s.ourPort[p] = true
	}
	s.ourHost[strings.ToLower(s.host)] = true

	for _, u := range s.udp {
		s.wg.Add(1)
		go func(u *udpSocket) {
			defer s.wg.Done()
			if err := s.tp.ServeUDP(u); err != nil {
				s.log.Warn("udp listener stopped", "addr", u.LocalAddr().String(), "error", err)
			}
		}(u)
	}
	if s.reg != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.reg.run()
		}()
	}
	for _, t := range s.tcp {
		s.wg.Add(1)
		go func(t *tcpListener) {
			defer s.wg.Done()
			_ = s.tp.ServeTCP(t)
		}(t)
	}
	// sipgo registers a UDP socket in its connection pool from the serving
	// goroutine; outbound requests look their socket up there (Laddr), so
	// wait until it is registered rather than race the first Dial.
	if len(s.udp) > 0 {
		pool := s.tp.Pool("udp")
		deadline := time.Now().Add(2 * time.Second)
		for pool.Get(s.udpAddr.String()) == nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("sipstack: udp listener %s did not start", s.udpAddr.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	s.log.Info("sip stack listening", "udp", len(s.udp), "tcp", len(s.tcp), "host", s.host, "udp_port", s.udpPort, "tcp_port", s.tcpPort)
	return nil
}

// Addr returns the bound address of the first listener of a transport
// ("udp" or "tcp"); useful when the configured port was 0.
func (s *Stack) Addr(transport string) netip.AddrPort {
	switch transport {
	case "udp":
		if len(s.udp) > 0 {
			return addrPortOf(s.udp[0].LocalAddr())
		}
	case "tcp":
		if len(s.tcp) > 0 {
			return addrPortOf(s.tcp[0].Addr())
		}
	}
	return netip.AddrPort{}
}

// Drain stops admitting calls: new INVITEs get 503 with Retry-After, while
// established dialogs and outbound calls continue (SIGTERM).
func (s *Stack) Drain() { s.draining.Store(true) }

// ActiveCalls returns the number of inbound and outbound calls not yet ended.
func (s *Stack) ActiveCalls() int {
	return int(s.stats.inboundActive.Load() + s.stats.outboundActive.Load())
}

// Close stops the listeners, ends every dialog without signalling (SIGINT),
// and waits for the stack's goroutines, including running InviteHandlers
// (whose call contexts are cancelled).
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
		s.closeSockets()
		s.dialogs.each(func(d *Dialog) { d.finish(EndShutdown, 0, nil) })
		s.wg.Wait()
		_ = s.ua.Close()
	})
	return nil
}

func (s *Stack) closeSockets() {
	for _, u := range s.udp {
		_ = u.UDPConn.Close()
	}
	for _, t := range s.tcp {
		_ = t.Listener.Close()
	}
}

// enter registers a goroutine doing work for the stack; it fails once Close
// has begun.
func (s *Stack) enter() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Stack) leave() { s.wg.Done() }

// go runs f on a goroutine owned by the stack (Close waits for it).
func (s *Stack) goTracked(f func()) bool {
	if !s.enter() {
		return false
	}
	go func() {
		defer s.leave()
		f()
	}()
	return true
}

// ours reports whether a Via sent-by names this stack (loop detection).
func (s *Stack) ours(host string, port int) bool {
	if port == 0 {
		port = 5060
	}
	return s.ourPort[port] && (s.ourHost[host] || s.ourHost[strings.ToLower(host)])
}

// countIn counts every parsed incoming message (called by sipgo's reader
// goroutine before the transaction layer; no allocation).
func (s *Stack) countIn(m sip.Message) {
	switch m := m.(type) {
	case *sip.Request:
		s.stats.requestsIn[methodIndex(m.Method)].Add(1)
	case *sip.Response:
		if c := m.StatusCode / 100; c >= 1 && c <= 6 {
			s.stats.responsesIn[c].Add(1)
		}
	}
}

// onRequest is sipgo's transaction-layer handler; it runs on a goroutine
// sipgo starts per request.
func (s *Stack) onRequest(req *sip.Request, tx *sip.ServerTx) {
	if !s.enter() {
		tx.Terminate()
		return
	}
	defer s.leave()

	if req.IsAck() {
		s.onAck(req)
		tx.Terminate()
		return
	}
	if code, reason := checkRequest(req, s.ours); code != 0 {
		s.refuse(req, tx, code, reason)
		return
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onInDialog(req, tx)
		return
	}
	switch req.Method {
	case sip.INVITE:
		s.onInvite(req, tx)
	case sip.OPTIONS:
		s.replyStateless(req, tx, 200, "OK", s.capabilityHeaders()...)
	case sip.REGISTER:
		if s.reg == nil {
			s.refuse(req, tx, 405, ReasonMethodNotAllowed)
			return
		}
		s.reg.onRegister(req, tx)
	case sip.BYE, sip.CANCEL, sip.NOTIFY, sip.INFO, sip.UPDATE, sip.PRACK:
		s.refuse(req, tx, 481, ReasonNoDialog)
	case sip.REFER, sip.SUBSCRIBE, sip.MESSAGE, sip.PUBLISH:
		s.refuse(req, tx, 405, ReasonMethodNotAllowed)
	default:
		s.refuse(req, tx, 501, ReasonMethodNotAllowed)
	}
}

// capabilityHeaders answer OPTIONS (RFC 3261 §11.2) for SBC and Kamailio
// dispatcher probing.
func (s *Stack) capabilityHeaders() []sip.Header {
	return []sip.Header{
		s.hdrAllow,
		sip.NewHeader("Accept", "application/sdp"),
		sip.NewHeader("Supported", ""),
	}
}

var reasonPhrases = map[int]string{
	400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
	407: "Proxy Authentication Required", 401: "Unauthorized", 408: "Request Timeout",
	415: "Unsupported Media Type", 420: "Bad Extension", 423: "Interval Too Brief",
	480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
	482: "Loop Detected", 483: "Too Many Hops", 486: "Busy Here", 487: "Request Terminated",
	488: "Not Acceptable Here", 491: "Request Pending", 500: "Server Internal Error",
	501: "Not Implemented", 503: "Service Unavailable", 600: "Busy Everywhere",
	603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
	180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
	200: "OK", 202: "Accepted",
}

func reasonPhrase(code int) string {
	if r, ok := reasonPhrases[code]; ok {
		return r
	}
	switch {
	case code < 200:
		return "Progress"
	case code < 300:
		return "OK"
	case code < 400:
		return "Redirect"
	case code < 500:
		return "Client Error"
	case code < 600:
		return "Server Error"
	}
	return "Global Failure"
}

// refuse answers a request statelessly with code and counts the reason.
func (s *Stack) refuse(req *sip.Request, tx *sip.ServerTx, code int, reason Reason) {
	s.stats.refuse(reason)
	var hs []sip.Header
	switch code {
	case 503:
		hs = append(hs, sip.NewHeader("Retry-After", strconv.Itoa(int(s.cfg.Admission.RetryAfter/time.Second))))
	case 405, 501:
		hs = append(hs, s.hdrAllow)
	case 420:
		hs = append(hs, sip.NewHeader("Unsupported", strings.Join(unsupportedRequire(req), ", ")))
	case 415:
		hs = append(hs, sip.NewHeader("Accept", "application/sdp"))
	}
	s.replyStateless(req, tx, code, reasonPhrase(code), hs...)
}

// replyStateless sends one response without keeping transaction state (RFC
// 3261 §8.2.7): a retransmitted request gets the same answer again, and an
// overloaded server keeps no memory per refused request.
func (s *Stack) replyStateless(req *sip.Request, tx *sip.ServerTx, code int, reason string, hs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hs {
		res.AppendHeader(h)
	}
	s.addServer(res)
	if err := tx.Connection().WriteMsg(res); err != nil {
		s.log.Debug("stateless reply failed", "code", code, "error", err)
	}
	tx.Terminate()
}

// replyLinger answers a non-INVITE request through its transaction and frees
// the transaction after TransactionLinger instead of sipgo's 64*T1.
func (s *Stack) replyLinger(tx *sip.ServerTx, res *sip.Response) {
	s.addServer(res)
	if err := tx.Respond(res); err != nil {
		tx.Terminate()
		return
	}
	s.linger(tx)
}

func (s *Stack) linger(tx sip.Transaction) {
	if d := s.cfg.Timers.TransactionLinger; d > 0 {
		time.AfterFunc(d, tx.Terminate)
	} else {
		tx.Terminate()
	}
}

func (s *Stack) addServer(m sip.Message) {
	if s.hdrServer == nil {
		return
	}
	if _, ok := m.(*sip.Response); ok {
		m.AppendHeader(s.hdrServer)
	} else {
		m.AppendHeader(s.hdrUserAgent)
	}
}

// onInvite admits and validates a new inbound INVITE, then runs the handler.
func (s *Stack) onInvite(req *sip.Request, tx *sip.ServerTx) {
	if s.draining.Load() {
		s.refuse(req, tx, 503, ReasonDraining)
		return
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		s.refuse(req, tx, 400, ReasonBadRequest)
		return
	}
	srcIP := src.Addr().Unmap()
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		s.refuse(req, tx, 400, ReasonBadRequest)
		return
	}
	fromTag, _ := req.From().Params.Get("tag")
	// A retransmitted INVITE that arrives after its transaction was freed
	// (we free it at the ACK) belongs to a call we already have.
	if s.dialogs.get(dialogKey{callID: req.CallID().Value(), remoteTag: fromTag}) != nil {
		tx.Terminate()
		return
	}
	trunk, isTrunk := s.trunks.match(srcIP)
	if !isTrunk && s.reg == nil {
		if s.dropUnknown {
			s.stats.refuse(ReasonNotTrunk)
			tx.Terminate()
			return
		}
		s.refuse(req, tx, 403, ReasonNotTrunk)
		return
	}
	if s.handler == nil {
		s.refuse(req, tx, 503, ReasonNoHandler)
		return
	}
	if reason, ok := s.adm.admit(srcIP, s.now().UnixNano()); !ok {
		s.refuse(req, tx, 503, reason)
		return
	}
	var ident identity
	if !isTrunk {
		// Not a trunk: a client of one of our SIP domains, challenged with
		// 407 (issue 5). Admission ran first, so a challenge flood is bounded
		// before the credential lookup.
		var ok bool
		if ident, ok = s.reg.authenticateCall(req, tx); !ok {
			s.adm.done()
			return
		}
	}
	if code, reason := checkOffer(req); code != 0 {
		s.adm.done()
		s.refuse(req, tx, code, reason)
		return
	}
	call := newInboundCall(s, req, tx, src, trunk, ident)
	s.stats.inboundTotal.Add(1)
	// The handler runs for the whole call on a goroutine of the stack's,
	// not on the one sipgo started for the INVITE: sipgo's frames below
	// the handler keep the parsed INVITE (and a 10 s context) reachable
	// until the handler returns, a few KiB per held call.
	if !s.goTracked(func() { s.runInbound(call) }) {
		call.finish(EndShutdown, 503, nil)
		tx.Terminate()
	}
}

// onAck delivers an ACK for a 2xx to its dialog.
func (s *Stack) onAck(req *sip.Request) {
	key, ok := keyFromRequest(req)
	if !ok {
		return
	}
	if d := s.dialogs.get(key); d != nil {
		d.gotAck(req)
	}
}

// onInDialog routes a request that carries a To tag.
func (s *Stack) onInDialog(req *sip.Request, tx *sip.ServerTx) {
	key, ok := keyFromRequest(req)
	var d *Dialog
	if ok {
		d = s.dialogs.get(key)
	}
	if d == nil {
		if req.Method == sip.OPTIONS {
			s.replyStateless(req, tx, 200, "OK", s.capabilityHeaders()...)
			return
		}
		s.refuse(req, tx, 481, ReasonNoDialog)
		return
	}
	d.onRequest(req, tx)
}

// onStrayResponse gets responses that match no client transaction: 2xx
// retransmissions after we freed the INVITE transaction, which must be
// ACKed again (RFC 3261 §13.2.2.4).
func (s *Stack) onStrayResponse(res *sip.Response) {
	if !res.IsSuccess() || res.CSeq() == nil || res.CSeq().MethodName != sip.INVITE {
		return
	}
	cid, from, to := res.CallID(), res.From(), res.To()
	if cid == nil || from == nil || to == nil {
		return
	}
	lt, _ := from.Params.Get("tag")
	rt, _ := to.Params.Get("tag")
	if d := s.dialogs.get(dialogKey{callID: cid.Value(), localTag: lt, remoteTag: rt}); d != nil {
		d.resendAck(res.CSeq().SeqNo)
	}
}

// classifyTxErr maps sipgo transaction errors to ours.
func classifyTxErr(err error) error {
	if err == nil {
		return ErrTransport
	}
	if errors.Is(err, sip.ErrTransactionTimeout) {
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %v", ErrTransport, err)
}
