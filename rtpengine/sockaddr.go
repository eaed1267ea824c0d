package rtpengine

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// rawAddr holds a struct sockaddr_in or sockaddr_in6 exactly as the kernel
// reads and writes it in msg_name, so the hot path never converts through
// the net package (which allocates).
type rawAddr [unix.SizeofSockaddrInet6]byte

func (r *rawAddr) family() uint16 { return binary.NativeEndian.Uint16(r[0:2]) }

// port is stored in network byte order (sin_port / sin6_port).
func (r *rawAddr) port() uint16 { return binary.BigEndian.Uint16(r[2:4]) }

// key builds the flow-table key of this source address as seen on the local
// socket identified by local. IPv4 addresses are stored v4-mapped.
func (r *rawAddr) key(local uint32) (k flowKey, ok bool) {
	switch r.family() {
	case unix.AF_INET:
		k.ip[10], k.ip[11] = 0xff, 0xff
		copy(k.ip[12:], r[4:8])
	case unix.AF_INET6:
		copy(k.ip[:], r[8:24])
	default:
		return k, false
	}
	k.port = r.port()
	k.local = local
	return k, true
}

func (r *rawAddr) addrPort() netip.AddrPort {
	switch r.family() {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(r[4:8])), r.port())
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(r[8:24])), r.port())
	}
	return netip.AddrPort{}
}

// encodeRaw returns the sockaddr for ap in the family of a socket bound to
// an address of family v4 (true) or v6 (false), and its length.
func encodeRaw(ap netip.AddrPort, v4 bool) (rawAddr, uint32, error) {
	var r rawAddr
	a := ap.Addr().Unmap()
	if v4 {
		if !a.Is4() {
			return r, 0, fmt.Errorf("address %s: %w", ap, ErrFamily)
		}
		binary.NativeEndian.PutUint16(r[0:2], unix.AF_INET)
		binary.BigEndian.PutUint16(r[2:4], ap.Port())
		b := a.As4()
		copy(r[4:8], b[:])
		return r, unix.SizeofSockaddrInet4, nil
	}
	binary.NativeEndian.PutUint16(r[0:2], unix.AF_INET6)
	binary.BigEndian.PutUint16(r[2:4], ap.Port())
	b := ap.Addr().As16()
	copy(r[8:24], b[:])
	return r, unix.SizeofSockaddrInet6, nil
}

// flowKey identifies a flow: a remote source address on one local socket
// (shared port). Comparable, fixed size, no pointers.
type flowKey struct {
	ip    [16]byte
	port  uint16
	local uint32
}

// hash mixes the key (a multiply-xorshift; the table is not exposed to
// adversarial collision attacks beyond one flow's own probing because
// capacity is bounded and probing is linear over a half-empty table).
func (k *flowKey) hash(seed uint64) uint64 {
	a := binary.LittleEndian.Uint64(k.ip[0:8])
	b := binary.LittleEndian.Uint64(k.ip[8:16])
	h := seed ^ a*0x9e3779b97f4a7c15
	h ^= b * 0xc2b2ae3d27d4eb4f
	h ^= uint64(k.port)<<32 | uint64(k.local)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func keyOf(ap netip.AddrPort, local uint32) flowKey {
	return flowKey{ip: ap.Addr().As16(), port: ap.Port(), local: local}
}

// sameIP compares the IP part of a key with an address.
func (k *flowKey) sameIP(a netip.Addr) bool { return k.ip == a.As16() }
