package sipstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// tcpIdleTimeout closes a TCP connection that sends nothing for this long
// (clients keep theirs open with CRLF keepalives, RFC 5626 §4.4.1).
const tcpIdleTimeout = 5 * time.Minute

// udpSocket wraps one UDP socket handed to sipgo. Reads are screened before
// sipgo parses them (Content-Length against the body, silent drop of unknown
// sources); writes are counted by method and response class.
type udpSocket struct {
	*net.UDPConn
	s *Stack
}

func (c *udpSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		if c.s.screen(c, b[:n], addr) {
			return n, addr, nil
		}
	}
}

func (c *udpSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.s.stats.countOut(b)
	return c.UDPConn.WriteTo(b, addr)
}

// screen decides whether a datagram goes on to sipgo's parser. It does not
// allocate for datagrams that pass.
func (s *Stack) screen(c *udpSocket, data []byte, addr net.Addr) bool {
	if s.dropUnknown && isOutOfDialogProbe(data) {
		if ua, ok := addr.(*net.UDPAddr); ok {
			src := ua.AddrPort().Addr()
			if _, trunk := s.trunks.match(src); !trunk && !s.registrarKnows(src) {
				s.stats.refuse(ReasonNotTrunk)
				return false
			}
		}
	}
	switch screenDatagram(data) {
	case datagramOK:
		return true
	default:
		s.stats.parseErrors.Add(1)
		s.stats.refuse(ReasonBadRequest)
		s.answerBadDatagram(c, data, addr)
		return false
	}
}

// isOutOfDialogProbe reports whether a datagram starts a request that a
// scanner would send to find SIP servers.
func isOutOfDialogProbe(b []byte) bool {
	for _, m := range [...]string{"INVITE ", "OPTIONS ", "REGISTER ", "SUBSCRIBE ", "MESSAGE "} {
		if bytes.HasPrefix(b, []byte(m)) {
			return true
		}
	}
	return false
}

// answerBadDatagram sends 400 to a request whose body is shorter than its
// Content-Length (RFC 3261 §18.3). Only the headers are parsed.
func (s *Stack) answerBadDatagram(c *udpSocket, data []byte, addr net.Addr) {
	msg, _, err := s.parser.ParseHeaders(data, false)
	if err != nil {
		return
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.IsAck() || req.Via() == nil || req.CSeq() == nil {
		return
	}
	req.SetSource(addr.String())
	res := sip.NewResponseFromRequest(req, 400, "Bad Request (Content-Length mismatch)", nil)
	var buf bytes.Buffer
	res.StringWrite(&buf)
	_, _ = c.WriteTo(buf.Bytes(), addr)
}

// tcpListener caps accepted connections, keeps the listener alive through
// transient accept errors (sipgo's accept loop would return on EMFILE), and
// counts writes.
type tcpListener struct {
	net.Listener
	s      *Stack
	active atomic.Int64
	max    int64
}

func (l *tcpListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			// EMFILE, ECONNABORTED, ...: wait a little, keep listening.
			select {
			case <-l.s.closing:
				return nil, net.ErrClosed
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		if l.active.Add(1) > l.max {
			l.active.Add(-1)
			l.s.stats.tcpRefused.Add(1)
			_ = c.Close()
			continue
		}
		return &tcpConn{Conn: c, l: l}, nil
	}
}

type tcpConn struct {
	net.Conn
	l      *tcpListener
	closed atomic.Bool
}

func (c *tcpConn) Read(b []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(tcpIdleTimeout))
	return c.Conn.Read(b)
}

func (c *tcpConn) Write(b []byte) (int, error) {
	c.l.s.stats.countOut(b)
	return c.Conn.Write(b)
}

func (c *tcpConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.active.Add(-1)
	}
	return c.Conn.Close()
}

// listen binds every configured socket. UDP entries with several sockets
// bind them all to the same address with SO_REUSEPORT.
func (s *Stack) listen(ctx context.Context) error {
	for i, l := range s.cfg.Listen {
		switch l.Transport {
		case "udp":
			n := l.Sockets
			if n < 1 {
				n = 1
			}
			if n > 1 && !reusePortSupported {
				return fmt.Errorf("listen[%d]: several sockets need SO_REUSEPORT (Linux)", i)
			}
			lc := net.ListenConfig{}
			if n > 1 {
				lc.Control = reusePort
			}
			addr := l.Address
			for k := 0; k < n; k++ {
				pc, err := lc.ListenPacket(ctx, "udp", addr)
				if err != nil {
					return fmt.Errorf("listen[%d] udp %s: %w", i, addr, err)
				}
				uc := pc.(*net.UDPConn)
				_ = uc.SetReadBuffer(4 << 20)
				_ = uc.SetWriteBuffer(4 << 20)
				// Further sockets bind the port the first one got (port 0).
				addr = uc.LocalAddr().String()
				s.udp = append(s.udp, &udpSocket{UDPConn: uc, s: s})
			}
		case "tcp":
			lc := net.ListenConfig{}
			ln, err := lc.Listen(ctx, "tcp", l.Address)
			if err != nil {
				return fmt.Errorf("listen[%d] tcp %s: %w", i, l.Address, err)
			}
			max := int64(s.cfg.MaxTCPConnections)
			if max == 0 {
				max = 10000
			}
			s.tcp = append(s.tcp, &tcpListener{Listener: ln, s: s, max: max})
		}
	}
	return nil
}

// addrPortOf converts a listener address.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.AddrPort()
	case *net.TCPAddr:
		return v.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
