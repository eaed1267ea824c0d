package rtpengine

import (
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpSocket opens a non-blocking UDP socket bound to ip:port. reuse sets
// SO_REUSEPORT so that every worker can bind the same shared port and the
// kernel spreads flows over them by 4-tuple hash.
func udpSocket(ip netip.Addr, port int, reuse bool, rcvbuf, sndbuf int) (fd int, bound int, err error) {
	family := unix.AF_INET6
	if ip.Is4() {
		family = unix.AF_INET
	}
	fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, 0, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, e error) (int, int, error) {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("%s %s: %w", what, netip.AddrPortFrom(ip, uint16(port)), e)
	}
	if reuse {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("SO_REUSEPORT", err)
		}
	}
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("IPV6_V6ONLY", err)
		}
	}
	if rcvbuf > 0 {
		setBuffer(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, rcvbuf)
	}
	if sndbuf > 0 {
		setBuffer(fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, sndbuf)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		bound = a.Port
	case *unix.SockaddrInet6:
		bound = a.Port
	}
	return fd, bound, nil
}

// setBuffer asks for size bytes with the FORCE option (needs CAP_NET_ADMIN,
// ignores net.core.rmem_max) and falls back to the capped option.
func setBuffer(fd, force, plain, size int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size) == nil {
		return
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size)
}

// recvmmsg reads up to len(msgs) datagrams without blocking. The raw
// syscall skips the scheduler hand-off: the socket is non-blocking and the
// call returns at once.
func recvmmsg(fd int, msgs []unix.Mmsghdr) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])),
		uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// sendmmsg sends msgs without blocking and returns how many went out.
func sendmmsg(fd int, msgs []unix.Mmsghdr) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])),
		uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// skfNetOff is SKF_NET_OFF: classic BPF loads relative to the network
// header.
const skfNetOff = -0x100000

// steerProgram is a classic BPF reuseport program that picks one of the
// first n sockets of the group by a hash of the source address and port.
// The worker sockets are bound first, so they are indices 0..n-1; the
// send-only sockets bound after them are never chosen. Sending from a
// socket that has no epoll waiter skips a wait-queue wake-up (a locked,
// interrupt-disabling walk) on every packet freed after transmit.
func steerProgram(v4 bool, n int) []unix.SockFilter {
	ipOff, portOff := uint32(12), uint32(20) // IPv4 saddr, UDP sport (no options)
	if !v4 {
		ipOff, portOff = 20, 40 // last word of the IPv6 saddr, UDP sport
	}
	off := int32(skfNetOff)
	net := uint32(off) // two's complement, as the kernel expects
	return []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: net + ipOff},
		{Code: unix.BPF_MISC | unix.BPF_TAX},
		{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: net + portOff},
		{Code: unix.BPF_ALU | unix.BPF_XOR | unix.BPF_X},
		{Code: unix.BPF_ALU | unix.BPF_MUL | unix.BPF_K, K: 0x9e3779b1},
		{Code: unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K, K: 16},
		{Code: unix.BPF_ALU | unix.BPF_MOD | unix.BPF_K, K: uint32(n)},
		{Code: unix.BPF_RET | unix.BPF_A},
	}
}

func attachSteering(fd int, v4 bool, n int) error {
	prog := steerProgram(v4, n)
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fp); err != nil {
		return fmt.Errorf("SO_ATTACH_REUSEPORT_CBPF: %w", err)
	}
	return nil
}

// setDontFragment sets DF on what a send socket sends (IPv4). Media packets
// are far below any path MTU, and a DF packet needs no IP identification,
// which the kernel otherwise draws from a keyed hash per packet (RFC 6864
// §4.1 allows ID 0 on atomic datagrams). Best effort.
func setDontFragment(fd int, v4 bool) {
	if v4 {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
	}
}
