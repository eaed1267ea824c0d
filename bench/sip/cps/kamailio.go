package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// kamailio is the baseline proxy: a process tree (main process and its
// forked workers), whose CPU and memory are summed.
type kamailio struct {
	*child
	port int
	pids []int
}

func startKamailio(bin, cfg, dir string, children int, uasPort int, pin string) (*kamailio, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	c, err := startChild("kamailio", filepath.Join(dir, "kamailio.log"), nil, pin,
		bin, "-f", cfg, "-DD", "-E", "-T", "-S",
		"-n", fmt.Sprint(children), "-m", "256", "-M", "16",
		"-l", fmt.Sprintf("udp:127.0.0.1:%d", port),
		"-A", fmt.Sprintf("UAS_URI=\"sip:127.0.0.1:%d\"", uasPort),
		"-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"), "-w", dir)
	if err != nil {
		return nil, err
	}
	k := &kamailio{child: c, port: port}
	deadline := time.Now().Add(10 * time.Second)
	for !udpBound(port) {
		if !c.alive() {
			return nil, fmt.Errorf("kamailio exited at start: %s", c.tail())
		}
		if time.Now().After(deadline) {
			c.stop(syscall.SIGKILL, time.Second)
			return nil, fmt.Errorf("kamailio did not bind udp %d: %s", port, c.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Workers fork after the socket is bound; give them a moment.
	time.Sleep(500 * time.Millisecond)
	k.pids = processTree(c.pid())
	return k, nil
}

func (k *kamailio) cpu() float64 { return treeCPU(k.pids) }
func (k *kamailio) mem() int64   { return treePSS(k.pids) }
