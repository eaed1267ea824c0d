package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// notifier speaks systemd's sd_notify protocol (sd_notify(3)): datagrams such
// as "READY=1" on the unix socket named by $NOTIFY_SOCKET. With no socket it
// does nothing, so the daemon runs the same under systemd and without it.
type notifier struct {
	addr *net.UnixAddr
	mu   sync.Mutex
	conn *net.UnixConn
}

func newNotifier(getenv func(string) string) *notifier {
	path := getenv("NOTIFY_SOCKET")
	if path == "" {
		return &notifier{}
	}
	// A leading '@' names a socket in the abstract namespace.
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	return &notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}
}

func (n *notifier) enabled() bool { return n.addr != nil }

// send writes one state update; failures are returned but never fatal to the
// daemon (systemd may be gone during shutdown).
func (n *notifier) send(state string) error {
	if n.addr == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		c, err := net.DialUnix("unixgram", nil, n.addr)
		if err != nil {
			return fmt.Errorf("sd_notify: %w", err)
		}
		n.conn = c
	}
	if _, err := n.conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %q: %w", state, err)
	}
	return nil
}

func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn != nil {
		n.conn.Close()
		n.conn = nil
	}
}

// watchdogInterval reads $WATCHDOG_USEC (and $WATCHDOG_PID, which must be us
// when set) and returns how often to ping: half the timeout, as
// sd_watchdog_enabled(3) recommends.
func watchdogInterval(getenv func(string) string) (time.Duration, error) {
	usec := getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0, nil
	}
	if pid := getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, nil
	}
	v, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("WATCHDOG_USEC=%q: not a positive integer", usec)
	}
	return time.Duration(v) * time.Microsecond / 2, nil
}

// watchdog pings WATCHDOG=1 every interval while healthy() holds, until ctx
// ends. A daemon that stops answering its own health check stops pinging, so
// systemd restarts it.
func (n *notifier) watchdog(ctx context.Context, interval time.Duration, healthy func() bool, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !healthy() {
				continue
			}
			if err := n.send("WATCHDOG=1"); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
