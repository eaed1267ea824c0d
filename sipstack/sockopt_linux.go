//go:build linux

package sipstack

import "syscall"

// soReusePort is SO_REUSEPORT on Linux (asm-generic/socket.h); the syscall
// package does not name it and x/sys is not in sipstack's import table.
const soReusePort = 0xf

// reusePort lets several UDP sockets bind the same address so that the kernel
// spreads sources over them, each read by its own goroutine.
func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

const reusePortSupported = true
