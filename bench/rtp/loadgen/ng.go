package main

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"tandem/rtpengine/ng"
)

// ngClient speaks the ng protocol to a relay (tandem or rtpengine).
type ngClient struct {
	conn *net.UDPConn
	seq  int
	buf  []byte
}

func dialNG(addr string) (*ngClient, error) {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		return nil, err
	}
	return &ngClient{conn: c, buf: make([]byte, 65536)}, nil
}

func (c *ngClient) call(req ng.Dict) (ng.Dict, error) {
	c.seq++
	cookie := fmt.Sprintf("lg%d_%d", time.Now().UnixNano()%1e9, c.seq)
	msg, err := ng.Encode([]byte(cookie+" "), req)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		if _, err := c.conn.Write(msg); err != nil {
			return nil, err
		}
		c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			n, err := c.conn.Read(c.buf)
			if err != nil {
				break
			}
			sp := bytes.IndexByte(c.buf[:n], ' ')
			if sp < 0 || string(c.buf[:sp]) != cookie {
				continue
			}
			v, err := ng.Decode(c.buf[sp+1 : n])
			if err != nil {
				return nil, err
			}
			d, ok := v.(ng.Dict)
			if !ok {
				return nil, fmt.Errorf("reply is not a dictionary")
			}
			if r := d.Str("result"); r != "ok" && r != "pong" {
				return nil, fmt.Errorf("%s: %s %s", req.Str("command"), r, d.Str("error-reason"))
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("%s: no reply", req.Str("command"))
}

func sdpFor(ip netip.Addr, port int, id string) string {
	return "v=0\r\n" +
		"o=- " + id + " 1 IN IP4 " + ip.String() + "\r\n" +
		"s=loadgen\r\n" +
		"c=IN IP4 " + ip.String() + "\r\n" +
		"t=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP 0\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
}

// mediaAddr reads c= and the audio m= port out of a relay's SDP.
func mediaAddr(sdp string) (netip.AddrPort, error) {
	var ip netip.Addr
	port := -1
	for _, ln := range strings.Split(sdp, "\n") {
		ln = strings.TrimRight(ln, "\r")
		if strings.HasPrefix(ln, "c=IN IP4 ") {
			a, err := netip.ParseAddr(strings.TrimPrefix(ln, "c=IN IP4 "))
			if err == nil {
				ip = a
			}
		}
		if strings.HasPrefix(ln, "m=audio ") && port < 0 {
			f := strings.Fields(ln)
			p, err := strconv.Atoi(f[1])
			if err != nil {
				return netip.AddrPort{}, err
			}
			port = p
		}
	}
	if !ip.IsValid() || port <= 0 {
		return netip.AddrPort{}, fmt.Errorf("no media address in SDP:\n%s", sdp)
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}
