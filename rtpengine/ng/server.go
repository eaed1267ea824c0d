package ng

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"tandem/rtpengine"
)

// ListenAndServe serves the ng protocol on the UDP address addr (e.g.
// "127.0.0.1:2223") for engine e until ctx is cancelled; then it closes its
// socket, releases the sessions it created and returns nil.
func ListenAndServe(ctx context.Context, addr string, e *rtpengine.Engine, log *slog.Logger) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("ng listen %s: %w", addr, err)
	}
	return NewServer(e, log).Serve(ctx, conn)
}

// Server holds the calls created through the ng protocol.
type Server struct {
	e   *rtpengine.Engine
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	calls map[string]*call

	cache     map[string]cachedReply
	cacheFIFO []string
}

type cachedReply struct {
	reply []byte
	at    time.Time
}

// Replies are kept for retransmissions of the same cookie (the client
// resends when a reply is lost; offers must not allocate twice).
const (
	cacheSize = 4096
	cacheTTL  = 30 * time.Second
)

type call struct {
	id         string
	sess       *rtpengine.Session
	created    time.Time
	lastSignal time.Time
	legs       map[string]*rtpengine.Leg // by the SIP tag of the party the leg faces
	pending    *rtpengine.Leg            // faces the callee until its tag is known
}

// NewServer returns a server for e; log may be nil.
func NewServer(e *rtpengine.Engine, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Server{e: e, log: log, now: time.Now, calls: map[string]*call{}, cache: map[string]cachedReply{}}
}

// Serve answers requests on conn until ctx is cancelled, then closes conn
// and releases every call it holds.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	defer s.closeAll()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	buf := make([]byte, maxMsgBytes)
	lastSweep := time.Now()
	for {
		conn.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := conn.ReadFrom(buf)
		if time.Since(lastSweep) >= time.Second {
			s.sweep()
			lastSweep = time.Now()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("ng read: %w", err)
		}
		reply := s.HandlePacket(buf[:n])
		if reply == nil {
			continue
		}
		if _, err := conn.WriteTo(reply, from); err != nil {
			s.log.Warn("ng reply failed", "to", from.String(), "err", err)
		}
	}
}

// HandlePacket handles one datagram ("cookie bencoded-dict") and returns
// the reply datagram, or nil when the datagram has no cookie to answer to.
func (s *Server) HandlePacket(pkt []byte) []byte {
	sp := bytes.IndexByte(pkt, ' ')
	if sp <= 0 || sp > 256 {
		return nil
	}
	cookie := string(pkt[:sp])
	s.mu.Lock()
	if c, ok := s.cache[cookie]; ok && s.now().Sub(c.at) < cacheTTL {
		s.mu.Unlock()
		return c.reply
	}
	s.mu.Unlock()
	var resp Dict
	v, err := Decode(pkt[sp+1:])
	if err != nil {
		resp = errorReply(err)
	} else if req, ok := v.(Dict); !ok {
		resp = errorReply(fmt.Errorf("%w: request is not a dictionary", ErrBencode))
	} else {
		resp = s.Handle(req)
	}
	out := append([]byte(cookie), ' ')
	out, err = Encode(out, resp)
	if err != nil {
		out, _ = Encode(append([]byte(cookie), ' '), errorReply(err))
	}
	s.mu.Lock()
	if _, ok := s.cache[cookie]; !ok {
		if len(s.cacheFIFO) >= cacheSize {
			delete(s.cache, s.cacheFIFO[0])
			s.cacheFIFO = s.cacheFIFO[1:]
		}
		s.cacheFIFO = append(s.cacheFIFO, cookie)
	}
	s.cache[cookie] = cachedReply{reply: out, at: s.now()}
	s.mu.Unlock()
	return out
}

func errorReply(err error) Dict {
	return Dict{"result": "error", "error-reason": err.Error()}
}

// Handle runs one decoded command and returns the reply dictionary.
func (s *Server) Handle(req Dict) Dict {
	cmd := strings.ToLower(req.Str("command"))
	var resp Dict
	var err error
	switch cmd {
	case "ping":
		return Dict{"result": "pong"}
	case "offer":
		resp, err = s.offer(req)
	case "answer":
		resp, err = s.answer(req)
	case "delete":
		resp, err = s.delete(req)
	case "query":
		resp, err = s.query(req)
	case "list":
		resp, err = s.list(req)
	default:
		err = fmt.Errorf("unrecognized command %q", cmd)
	}
	if err != nil {
		s.log.Info("ng request failed", "command", cmd, "call_id", truncate(req.Str("call-id")), "err", err)
		return errorReply(err)
	}
	resp["result"] = "ok"
	return resp
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

func hasFlag(req Dict, name string) bool {
	for _, f := range req.List("flags") {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// legOptions picks the port kind for the leg facing the party that sent sdp
// and the address to send to until its packets say otherwise. The leg gets
// a dedicated port (learning its address from its first packet) when the
// party is behind NAT: its SDP names a private address (RFC 1918, RFC 6598
// shared space, link-local) while its SIP came from elsewhere (the
// "received-from" Kamailio passes), or the proxy asked for the SIP source
// address ("SIP-source-address"); media then goes to the SIP source's IP
// with the SDP port, as rtpengine does, until the first packet corrects it.
// Every other leg trusts its SDP (rtpengine's default since 3.8) and gets
// the fast shared port.
func legOptions(req Dict, label, ifc string, sdpAddr netip.Addr) (rtpengine.LegOptions, netip.Addr) {
	o := rtpengine.LegOptions{Label: label, Interface: ifc}
	if hasFlag(req, "strict-source") {
		o.Strict = rtpengine.StrictOn
	}
	use := sdpAddr
	var recv netip.Addr
	if rf := req.List("received-from"); len(rf) == 2 {
		recv, _ = netip.ParseAddr(rf[1])
		recv = recv.Unmap()
	}
	switch {
	case hasFlag(req, "SIP-source-address") && recv.IsValid():
		o.Port = rtpengine.PortDedicated
		use = recv
	case !hasFlag(req, "trust-address") && recv.IsValid() && behindNAT(sdpAddr) && recv != sdpAddr.Unmap():
		o.Port = rtpengine.PortDedicated
		use = recv
	}
	if hasFlag(req, "port-latching") || hasFlag(req, "media-handover") {
		o.Port = rtpengine.PortDedicated
	}
	return o, use
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// behindNAT reports whether an SDP address can only be a NAT's inside.
func behindNAT(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsUnspecified() && (a.IsPrivate() || a.IsLinkLocalUnicast() || cgnat.Contains(a))
}

// interfaces returns the interface facing the offerer and the callee from
// the "direction" list (rtpengine's logical interface names).
func interfaces(req Dict) (from, to string) {
	d := req.List("direction")
	if len(d) >= 1 {
		from = d[0]
	}
	if len(d) >= 2 {
		to = d[1]
	}
	return from, to
}

func (s *Server) offer(req Dict) (Dict, error) {
	callID, fromTag := req.Str("call-id"), req.Str("from-tag")
	if callID == "" || fromTag == "" {
		return nil, errors.New("offer: call-id and from-tag are required")
	}
	body := []byte(req.Str("sdp"))
	sd, err := rtpengine.ParseSDP(body)
	if err != nil {
		return nil, fmt.Errorf("offer: %w", err)
	}
	ifFrom, ifTo := interfaces(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[callID]
	created := false
	if c == nil {
		sess, err := s.e.NewSession(callID)
		if err != nil {
			return nil, fmt.Errorf("offer: %w", err)
		}
		c = &call{id: callID, sess: sess, created: s.now(), legs: map[string]*rtpengine.Leg{}}
		s.calls[callID] = c
		created = true
	}
	fail := func(err error) (Dict, error) {
		if created {
			c.sess.Close()
			delete(s.calls, callID)
		}
		return nil, fmt.Errorf("offer: %w", err)
	}
	c.lastSignal = s.now()
	opts, remoteIP := legOptions(req, fromTag, ifFrom, sd.Audio.Addr)
	from := c.legs[fromTag]
	if from == nil {
		if from, err = c.sess.NewLeg(opts); err != nil {
			return fail(err)
		}
		c.legs[fromTag] = from
	}
	var to *rtpengine.Leg
	if tt := req.Str("to-tag"); tt != "" && c.legs[tt] != nil && c.legs[tt] != from {
		to = c.legs[tt]
	} else if p := from.Peer(); p != nil {
		to = p
	} else if c.pending != nil {
		to = c.pending
	} else {
		if to, err = c.sess.NewLeg(rtpengine.LegOptions{Label: "callee", Interface: ifTo, AvoidShared: from}); err != nil {
			return fail(err)
		}
		c.pending = to
	}
	if err := setRemote(from, sd, remoteIP); err != nil {
		return fail(err)
	}
	if err := from.Link(to); err != nil {
		return fail(err)
	}
	out, err := to.RewriteSDP(body)
	if err != nil {
		return fail(err)
	}
	return Dict{"sdp": out}, nil
}

func setRemote(l *rtpengine.Leg, sd *rtpengine.SessionDescription, ip netip.Addr) error {
	a := sd.Audio
	rtcp := a.RTCP
	if a.RTCPMux {
		rtcp = a.RTP()
	}
	rtp := netip.AddrPortFrom(a.Addr, a.Port)
	if ip != a.Addr && !a.Addr.IsUnspecified() {
		rtp = netip.AddrPortFrom(ip, a.Port)
		rtcp = netip.AddrPortFrom(ip, rtcp.Port())
	}
	if err := l.SetRemote(rtp, rtcp); err != nil {
		return err
	}
	l.SetDirection(a.Direction)
	l.SetClockRate(a.ClockRate)
	return nil
}

func (s *Server) answer(req Dict) (Dict, error) {
	callID, fromTag, toTag := req.Str("call-id"), req.Str("from-tag"), req.Str("to-tag")
	if callID == "" || fromTag == "" {
		return nil, errors.New("answer: call-id and from-tag are required")
	}
	body := []byte(req.Str("sdp"))
	sd, err := rtpengine.ParseSDP(body)
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[callID]
	if c == nil {
		return nil, fmt.Errorf("answer: unknown call-id %q", truncate(callID))
	}
	c.lastSignal = s.now()
	from := c.legs[fromTag]
	if from == nil {
		return nil, fmt.Errorf("answer: unknown from-tag %q", truncate(fromTag))
	}
	to := from.Peer()
	if toTag != "" && c.legs[toTag] != nil {
		to = c.legs[toTag]
	}
	if to == nil {
		return nil, errors.New("answer: no offer to answer")
	}
	if toTag != "" && c.legs[toTag] == nil {
		c.legs[toTag] = to
		if c.pending == to {
			c.pending = nil
		}
	}
	_, remoteIP := legOptions(req, toTag, "", sd.Audio.Addr)
	if err := setRemote(to, sd, remoteIP); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	out, err := from.RewriteSDP(body)
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	return Dict{"sdp": out}, nil
}

func (s *Server) delete(req Dict) (Dict, error) {
	callID := req.Str("call-id")
	s.mu.Lock()
	c := s.calls[callID]
	delete(s.calls, callID)
	s.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("delete: unknown call-id %q", truncate(callID))
	}
	resp := s.describe(c)
	if err := c.sess.Close(); err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	return resp, nil
}

func (s *Server) query(req Dict) (Dict, error) {
	callID := req.Str("call-id")
	s.mu.Lock()
	c := s.calls[callID]
	s.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("query: unknown call-id %q", truncate(callID))
	}
	return s.describe(c), nil
}

// describe renders a call in the shape of rtpengine's query reply (the
// parts monitoring scripts read: tags, streams, totals).
func (s *Server) describe(c *call) Dict {
	tags := Dict{}
	var pkts, bytes, errs uint64
	add := func(tag string, l *rtpengine.Leg) {
		st := l.Stats()
		var drops uint64
		for _, d := range st.Drops {
			drops += d
		}
		pkts += st.PacketsIn
		bytes += st.BytesIn
		errs += drops
		ep := Dict{"family": "IPv4", "address": st.Remote.Addr().String(), "port": int64(st.Remote.Port())}
		if st.Remote.Addr().Is6() {
			ep["family"] = "IPv6"
		}
		stream := Dict{
			"local port":   int64(st.Local.Port),
			"endpoint":     ep,
			"stats":        Dict{"packets": st.PacketsIn, "bytes": st.BytesIn, "errors": drops},
			"last packet":  st.LastPacket.Unix(),
			"rtcp loss":    int64(st.RTCP.FractionLost * 100),
			"jitter ms":    st.RTCP.Jitter.Milliseconds(),
			"rtt us":       st.RTCP.RTT.Microseconds(),
			"dedicated":    boolInt(st.Dedicated),
			"latched":      boolInt(st.Latched),
			"sent packets": st.PacketsOut,
		}
		tags[tag] = Dict{"tag": tag, "medias": []any{Dict{"index": int64(1), "type": "audio", "streams": []any{stream}}}}
	}
	names := make([]string, 0, len(c.legs))
	for tag := range c.legs {
		names = append(names, tag)
	}
	sort.Strings(names)
	for _, tag := range names {
		add(tag, c.legs[tag])
	}
	if c.pending != nil {
		add("", c.pending)
	}
	return Dict{
		"created":     c.created.Unix(),
		"last signal": c.lastSignal.Unix(),
		"tags":        tags,
		"totals":      Dict{"RTP": Dict{"packets": pkts, "bytes": bytes, "errors": errs}},
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (s *Server) list(req Dict) (Dict, error) {
	limit := 32
	if n, ok := req["limit"].(int64); ok && n > 0 && n < 1<<20 {
		limit = int(n)
	} else if v := req.Str("limit"); v != "" {
		fmt.Sscan(v, &limit)
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.calls))
	for id := range s.calls {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return Dict{"calls": ids}, nil
}

// sweep deletes calls whose media timed out, as rtpengine does.
func (s *Server) sweep() {
	s.mu.Lock()
	var dead []*call
	for id, c := range s.calls {
		for _, l := range c.legs {
			if l.TimedOut() {
				dead = append(dead, c)
				delete(s.calls, id)
				break
			}
		}
		if p := c.pending; p != nil && p.TimedOut() && s.calls[id] != nil {
			dead = append(dead, c)
			delete(s.calls, id)
		}
	}
	s.mu.Unlock()
	for _, c := range dead {
		s.log.Info("ng call deleted after media timeout", "call_id", truncate(c.id))
		c.sess.Close()
	}
}

func (s *Server) closeAll() {
	s.mu.Lock()
	calls := s.calls
	s.calls = map[string]*call{}
	s.mu.Unlock()
	for _, c := range calls {
		c.sess.Close()
	}
}
