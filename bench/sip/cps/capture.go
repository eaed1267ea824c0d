package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// capture records, with dumpcap on the loopback interface, the INVITEs and
// 200 OKs to and from the switch (or proxy) under test, so that setup
// latency is measured at the wire with microsecond timestamps, per call and
// per leg, the same way for tandem and Kamailio. The kernel filter passes
// only datagrams starting "INVITE" or "SIP/2.0 200 ", so the capture costs
// little.
type capture struct {
	*child
	path string
}

func startCapture(bin, path string, port int) (*capture, error) {
	filter := fmt.Sprintf("udp port %d and (udp[8:4] = 0x494e5649 or (udp[8:4] = 0x5349502f and udp[16:4] = 0x32303020))", port)
	c, err := startChild("dumpcap", path+".log", nil, "", bin, "-i", "lo", "-P", "-q", "-s", "1024", "-B", "16", "-f", filter, "-w", path)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() >= 24 {
			return &capture{child: c, path: path}, nil
		}
		if !c.alive() || time.Now().After(deadline) {
			c.stop(syscall.SIGKILL, time.Second)
			return nil, fmt.Errorf("dumpcap did not start: %s", c.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finish stops dumpcap (SIGINT flushes the file).
func (c *capture) finish() { c.stop(syscall.SIGINT, 5*time.Second) }

// callTimes are the first sighting of each message of one call's setup.
type callTimes struct {
	inInvite, inOK   time.Time // caller → switch INVITE, switch → caller 200
	outInvite, outOK time.Time // switch → callee INVITE, callee → switch 200
}

// setup is INVITE→200 as the caller's side of the switch sees it.
func (c *callTimes) setup() (time.Duration, bool) {
	if c.inInvite.IsZero() || c.inOK.IsZero() {
		return 0, false
	}
	return c.inOK.Sub(c.inInvite), true
}

// calleeWait is how much of the setup was spent waiting for the callee:
// the overlap of [outInvite, outOK] with [inInvite, inOK]. With Twilio's
// default Dial the caller is answered before the callee is called, and
// this is zero; through a proxy, or with answerOnBridge, it is the
// callee's answer time.
func (c *callTimes) calleeWait() time.Duration {
	if c.outInvite.IsZero() || c.outOK.IsZero() {
		return 0
	}
	from, to := c.outInvite, c.outOK
	if from.Before(c.inInvite) {
		from = c.inInvite
	}
	if to.After(c.inOK) {
		to = c.inOK
	}
	if d := to.Sub(from); d > 0 {
		return d
	}
	return 0
}

// parseCapture reads a pcap file and returns the setup messages per call
// number (the N of the From user "aliceN"), classified by direction.
func parseCapture(path string, switchPort, uacPort, uasPort int) (map[int]*callTimes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	calls := map[int]*callTimes{}
	err = readPcap(bufio.NewReaderSize(f, 1<<20), func(ts time.Time, src, dst int, payload []byte) {
		isInvite := bytes.HasPrefix(payload, []byte("INVITE "))
		isOK := bytes.HasPrefix(payload, []byte("SIP/2.0 200 "))
		if !isInvite && !isOK {
			return
		}
		if isOK && !cseqIsInvite(payload) {
			return // the 200 of a BYE
		}
		n, ok := callNumber(headerValue(payload, "From", "f"))
		if !ok {
			return
		}
		c := calls[n]
		if c == nil {
			c = &callTimes{}
			calls[n] = c
		}
		var slot *time.Time
		switch {
		case isInvite && src == uacPort && dst == switchPort:
			slot = &c.inInvite
		case isInvite && src == switchPort && dst == uasPort:
			slot = &c.outInvite
		case isOK && src == switchPort && dst == uacPort:
			slot = &c.inOK
		case isOK && src == uasPort && dst == switchPort:
			slot = &c.outOK
		default:
			return
		}
		if slot.IsZero() { // the first one; later ones are retransmissions
			*slot = ts
		}
	})
	return calls, err
}

// headerValue returns the value of the first header called name (or its
// compact form), without parsing the whole message.
func headerValue(msg []byte, name, compact string) []byte {
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		if i < 0 {
			return nil
		}
		msg = msg[i+1:]
		line := msg
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return nil // end of headers
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		h := bytes.TrimSpace(line[:colon])
		if bytes.EqualFold(h, []byte(name)) || (compact != "" && bytes.EqualFold(h, []byte(compact))) {
			return bytes.TrimSpace(line[colon+1:])
		}
	}
	return nil
}

func cseqIsInvite(msg []byte) bool {
	v := headerValue(msg, "CSeq", "")
	return bytes.HasSuffix(v, []byte("INVITE"))
}

// readPcap walks a classic pcap file (microsecond or nanosecond
// timestamps, either byte order) and calls fn with each IPv4 UDP datagram.
func readPcap(r io.Reader, fn func(ts time.Time, src, dst int, payload []byte)) error {
	var gh [24]byte
	if _, err := io.ReadFull(r, gh[:]); err != nil {
		return fmt.Errorf("pcap header: %w", err)
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(gh[:4]) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return errors.New("not a pcap file (pcapng? dumpcap needs -P)")
	}
	link := bo.Uint32(gh[20:24]) & 0xffff
	var rh [16]byte
	buf := make([]byte, 0, 65536)
	for {
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil // a capture cut mid-record ends there
			}
			return err
		}
		sec, frac := int64(bo.Uint32(rh[0:4])), int64(bo.Uint32(rh[4:8]))
		incl := int(bo.Uint32(rh[8:12]))
		if incl > 262144 {
			return fmt.Errorf("pcap record of %d bytes", incl)
		}
		buf = buf[:incl]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil
		}
		if !nano {
			frac *= 1000
		}
		ts := time.Unix(sec, frac)
		ip, ok := ipPayload(link, buf)
		if !ok || len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 17 {
			continue
		}
		ihl := int(ip[0]&0x0f) * 4
		if len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		src, dst := int(binary.BigEndian.Uint16(udp[0:2])), int(binary.BigEndian.Uint16(udp[2:4]))
		fn(ts, src, dst, udp[8:])
	}
}

// ipPayload strips the link-layer header of the link types loopback
// captures use.
func ipPayload(link uint32, b []byte) ([]byte, bool) {
	switch link {
	case 1: // Ethernet (Linux lo)
		if len(b) < 14 || binary.BigEndian.Uint16(b[12:14]) != 0x0800 {
			return nil, false
		}
		return b[14:], true
	case 113: // Linux cooked v1
		if len(b) < 16 || binary.BigEndian.Uint16(b[14:16]) != 0x0800 {
			return nil, false
		}
		return b[16:], true
	case 276: // Linux cooked v2
		if len(b) < 20 || binary.BigEndian.Uint16(b[0:2]) != 0x0800 {
			return nil, false
		}
		return b[20:], true
	case 0: // BSD loopback
		if len(b) < 4 {
			return nil, false
		}
		return b[4:], true
	case 101, 12, 228: // raw IP
		return b, true
	}
	return nil, false
}
