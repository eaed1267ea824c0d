//go:build !linux

package sipstack

import "syscall"

func reusePort(network, address string, c syscall.RawConn) error { return nil }

const reusePortSupported = false
