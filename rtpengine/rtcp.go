package rtpengine

import "encoding/binary"

// RTCP packet types (RFC 3550 §12.1).
const (
	rtcpSR = 200
	rtcpRR = 201
)

// isRTP reports whether b can be an RTP packet: at least the fixed 12-byte
// header (RFC 3550 §5.1) and version 2.
func isRTP(b []byte) bool { return len(b) >= 12 && b[0]>>6 == 2 }

// isRTCP reports whether b looks like RTCP: version 2, at least a header and
// a packet type in 192..223, the range RFC 5761 §4 reserves so that RTP and
// RTCP can be told apart on one port.
func isRTCP(b []byte) bool { return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223 }

// rtcpInfo is what the relay reads from an RTCP compound packet: the first
// report block (the sender reports on the one stream it receives from us)
// and, for a sender report, the middle 32 bits of its NTP timestamp (the
// value a receiver echoes as LSR, RFC 3550 §6.4.1).
type rtcpInfo struct {
	hasSR          bool
	srNTPMiddle    uint32
	hasReport      bool
	fractionLost   uint8
	cumulativeLost int32
	highestSeq     uint32
	jitter         uint32
	lsr            uint32
	dlsr           uint32
}

// parseRTCP walks a compound RTCP packet without allocating. It returns
// false if the packet is malformed (a length running past the end, a bad
// version). Unknown packet types are skipped.
func parseRTCP(b []byte, out *rtcpInfo) bool {
	*out = rtcpInfo{}
	if len(b) < 4 {
		return false
	}
	for len(b) > 0 {
		if len(b) < 4 || b[0]>>6 != 2 {
			return false
		}
		count := int(b[0] & 0x1f)
		pt := b[1]
		n := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if n > len(b) {
			return false
		}
		body := b[4:n]
		switch pt {
		case rtcpSR:
			if len(body) < 24 {
				return false
			}
			if !out.hasSR {
				out.hasSR = true
				// NTP seconds low 16 bits and fraction high 16 bits.
				out.srNTPMiddle = binary.BigEndian.Uint32(body[6:10])
			}
			if !parseReportBlocks(body[24:], count, out) {
				return false
			}
		case rtcpRR:
			if len(body) < 4 {
				return false
			}
			if !parseReportBlocks(body[4:], count, out) {
				return false
			}
		}
		b = b[n:]
	}
	return true
}

func parseReportBlocks(b []byte, count int, out *rtcpInfo) bool {
	if len(b) < count*24 {
		return false
	}
	if count == 0 || out.hasReport {
		return true
	}
	out.hasReport = true
	out.fractionLost = b[4]
	// Cumulative number of packets lost: signed 24 bits (RFC 3550 §6.4.1).
	cl := int32(uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]))
	if cl&0x800000 != 0 {
		cl |= ^0xffffff
	}
	out.cumulativeLost = cl
	out.highestSeq = binary.BigEndian.Uint32(b[8:12])
	out.jitter = binary.BigEndian.Uint32(b[12:16])
	out.lsr = binary.BigEndian.Uint32(b[16:20])
	out.dlsr = binary.BigEndian.Uint32(b[20:24])
	return true
}
