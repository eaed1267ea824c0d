package rtpengine

import "errors"

// Sentinel errors; callers match them with errors.Is.
var (
	ErrClosed        = errors.New("rtpengine: closed")
	ErrNoPorts       = errors.New("rtpengine: no free media port")
	ErrTooMany       = errors.New("rtpengine: session limit reached")
	ErrFamily        = errors.New("rtpengine: address family does not match the interface")
	ErrNoInterface   = errors.New("rtpengine: no such interface")
	ErrLinked        = errors.New("rtpengine: leg already linked")
	ErrSameLeg       = errors.New("rtpengine: cannot link a leg to itself")
	ErrOtherEngine   = errors.New("rtpengine: legs belong to different engines")
	ErrAddressInUse  = errors.New("rtpengine: remote address already used by another leg on this port")
	ErrSDP           = errors.New("rtpengine: malformed SDP")
	ErrNoAudio       = errors.New("rtpengine: SDP has no audio stream")
	ErrBadAddress    = errors.New("rtpengine: bad remote address")
	ErrBadDirection  = errors.New("rtpengine: bad direction")
	ErrTableCapacity = errors.New("rtpengine: flow table full")
)
