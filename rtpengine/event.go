package rtpengine

import (
	"net/netip"
	"time"
)

// EventType says what happened to a leg.
type EventType uint8

// Event types.
const (
	// EventFirstPacket: the leg received its first packet and latched (or
	// confirmed) the remote address in Addr.
	EventFirstPacket EventType = iota + 1
	// EventSourceChanged: a latched leg learned a new remote address (NAT
	// rebinding, or media moved; never with strict source).
	EventSourceChanged
	// EventMediaTimeout: a linked leg received nothing for the media timeout
	// (or the hold timeout while on hold). The call path usually ends the
	// call (RFC 3550 gives no keepalive for RTP; silence means gone).
	EventMediaTimeout
)

func (t EventType) String() string {
	switch t {
	case EventFirstPacket:
		return "first_packet"
	case EventSourceChanged:
		return "source_changed"
	case EventMediaTimeout:
		return "media_timeout"
	}
	return "unknown"
}

// Event is delivered on the channel given with WithEvents.
type Event struct {
	Type    EventType
	Session *Session
	Leg     *Leg
	// RTCP is true when the event concerns the leg's RTCP stream.
	RTCP bool
	// Addr is the latched source (first packet, source changed).
	Addr netip.AddrPort
	At   time.Time
}

// DropReason classifies a dropped packet (a metric label).
type DropReason int

// Drop reasons.
const (
	DropUnknownSource DropReason = iota // no flow and no single leg waiting for that IP
	DropAmbiguous                       // several legs wait for that IP: latching refused
	DropStrictSource                    // strict source: not from the learned address
	DropDraining                        // from the remote of a released leg
	DropMalformed                       // not RTP/RTCP version 2, truncated
	DropUnlinked                        // the leg is not linked to a peer
	DropNoDestination                   // the peer's remote is not known (or on hold)
	DropSendError                       // the kernel refused the send
	NumDropReasons
)

var dropNames = [NumDropReasons]string{
	"unknown_source", "ambiguous_source", "strict_source", "draining",
	"malformed", "unlinked", "no_destination", "send_error",
}

func (r DropReason) String() string {
	if r < 0 || r >= NumDropReasons {
		return "unknown"
	}
	return dropNames[r]
}
