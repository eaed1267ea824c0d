package rtpengine

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"time"
)

// LatchMode says how a leg learns its remote media address from the packets
// it receives ("endpoint learning" in Sipwise rtpengine's terms).
type LatchMode string

// The latching modes, named as rtpengine's --endpoint-learning names them.
const (
	// LatchOff never learns: media goes to the address from SDP.
	LatchOff LatchMode = "off"
	// LatchImmediate learns from the first packet received.
	LatchImmediate LatchMode = "immediate"
	// LatchDelayed keeps sending to the SDP address for LatchDelay after the
	// first packet, then learns the source of the latest packet.
	LatchDelayed LatchMode = "delayed"
	// LatchHeuristic watches the sources for LatchDelay and learns the best:
	// one equal to the SDP address (learned at once), else one with the SDP
	// IP, else any.
	LatchHeuristic LatchMode = "heuristic"
)

func (m LatchMode) valid() bool {
	switch m {
	case LatchOff, LatchImmediate, LatchDelayed, LatchHeuristic:
		return true
	}
	return false
}

// InterfaceConfig is one media interface: where sockets bind and what address
// goes into SDP (they differ behind 1:1 NAT, e.g. a cloud VM's public IP).
type InterfaceConfig struct {
	// Name selects the interface in LegOptions and in ng "direction".
	Name string `yaml:"name"`
	// BindIP is the local address sockets bind to.
	BindIP string `yaml:"bind_ip"`
	// AdvertisedIP goes into c= lines; empty means BindIP.
	AdvertisedIP string `yaml:"advertised_ip"`
	// SharedPorts are the RTP ports of the shared (fast path) sockets; each
	// has its RTCP on the next port. 0 lets the kernel choose both (tests).
	SharedPorts []int `yaml:"shared_ports"`
}

// Config configures the media engine (section "media" of tandem.yaml).
type Config struct {
	Interfaces []InterfaceConfig `yaml:"interfaces"`
	// DedicatedPortMin and DedicatedPortMax bound the port pairs given to
	// legs that need their own port (NAT). Both 0: the kernel chooses.
	DedicatedPortMin int `yaml:"dedicated_port_min"`
	DedicatedPortMax int `yaml:"dedicated_port_max"`
	// Workers is the number of forwarding loops (0: number of CPUs usable).
	Workers int `yaml:"workers"`
	// BatchSize is the recvmmsg/sendmmsg batch.
	BatchSize int `yaml:"batch_size"`
	// WakeCoalesce caps how often a busy worker wakes: after a round of
	// work that began less than this after the previous one, the worker
	// sleeps out the rest before polling again, so packets arrive in
	// batches (interrupt moderation done in software). It adds at most
	// this much latency, and only when packets come less than this apart;
	// 0 turns it off. At 100k packets/s of evenly spread calls, 500µs
	// halves the CPU of 200µs for about 150µs more median latency.
	WakeCoalesce time.Duration `yaml:"wake_coalesce"`
	// RecvBufferBytes and SendBufferBytes size the shared sockets' kernel
	// buffers; the default receive buffer drops packets at ~100k pps.
	RecvBufferBytes int `yaml:"recv_buffer_bytes"`
	SendBufferBytes int `yaml:"send_buffer_bytes"`
	// DedicatedBufferBytes sizes each dedicated socket's receive buffer.
	DedicatedBufferBytes int `yaml:"dedicated_buffer_bytes"`
	// MediaTimeout reports a linked leg that received nothing this long.
	MediaTimeout time.Duration `yaml:"media_timeout"`
	// HoldTimeout is the same for a leg on hold (not sendrecv); 0 = never.
	HoldTimeout time.Duration `yaml:"hold_timeout"`
	// DrainPeriod keeps a released port (or shared flow) quiet before reuse,
	// so late packets of the old call never reach a new one.
	DrainPeriod time.Duration `yaml:"drain_period"`
	// Latching is the default mode for dedicated-port legs.
	Latching LatchMode `yaml:"latching"`
	// LatchDelay is the learning window of the delayed and heuristic modes.
	LatchDelay time.Duration `yaml:"latch_delay"`
	// StrictSource drops packets from anything but the learned source.
	StrictSource bool `yaml:"strict_source"`
	// MaxSessions caps live sessions (0 = no cap).
	MaxSessions int `yaml:"max_sessions"`
	// NGListen is the UDP address of the ng control protocol ("" = off).
	NGListen string `yaml:"ng_listen"`
}

// DefaultConfig is a development setup on 127.0.0.1.
func DefaultConfig() Config {
	return Config{
		Interfaces: []InterfaceConfig{{
			Name:        "default",
			BindIP:      "127.0.0.1",
			SharedPorts: []int{30000, 30002},
		}},
		DedicatedPortMin:     40000,
		DedicatedPortMax:     49999,
		Workers:              0,
		BatchSize:            64,
		WakeCoalesce:         500 * time.Microsecond,
		RecvBufferBytes:      8 << 20,
		SendBufferBytes:      4 << 20,
		DedicatedBufferBytes: 256 << 10,
		MediaTimeout:         60 * time.Second,
		HoldTimeout:          time.Hour,
		DrainPeriod:          10 * time.Second,
		Latching:             LatchDelayed,
		LatchDelay:           3 * time.Second,
		MaxSessions:          50000,
	}
}

// maxBatch bounds BatchSize (UIO_MAXIOV is 1024; more buys nothing).
const maxBatch = 1024

// Validate checks every key and names the first bad one.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.Interfaces) == 0 {
		bad("interfaces: at least one interface is required")
	}
	names := map[string]bool{}
	for i, ifc := range c.Interfaces {
		key := fmt.Sprintf("interfaces[%d]", i)
		if ifc.Name == "" {
			bad("%s.name: must not be empty", key)
		} else if names[ifc.Name] {
			bad("%s.name: duplicate interface %q", key, ifc.Name)
		}
		names[ifc.Name] = true
		bind, err := netip.ParseAddr(ifc.BindIP)
		if err != nil {
			bad("%s.bind_ip: %v", key, err)
		}
		if ifc.AdvertisedIP != "" {
			adv, err := netip.ParseAddr(ifc.AdvertisedIP)
			if err != nil {
				bad("%s.advertised_ip: %v", key, err)
			} else if adv.IsUnspecified() {
				bad("%s.advertised_ip: must be a routable address (got %s)", key, adv)
			} else if bind.IsValid() && adv.Is4() != bind.Is4() {
				bad("%s.advertised_ip: family differs from bind_ip", key)
			}
		} else if bind.IsUnspecified() {
			bad("%s.advertised_ip: required when bind_ip is %s", key, bind)
		}
		if len(ifc.SharedPorts) == 0 {
			bad("%s.shared_ports: at least one port is required", key)
		}
		if len(ifc.SharedPorts) > 64 {
			bad("%s.shared_ports: at most 64 ports (got %d)", key, len(ifc.SharedPorts))
		}
		for j, p := range ifc.SharedPorts {
			if p < 0 || p > 65534 {
				bad("%s.shared_ports[%d]: must be 0..65534 (got %d)", key, j, p)
			}
		}
	}
	if c.DedicatedPortMin != 0 || c.DedicatedPortMax != 0 {
		if c.DedicatedPortMin < 1024 || c.DedicatedPortMin > 65534 {
			bad("dedicated_port_min: must be 1024..65534 (got %d)", c.DedicatedPortMin)
		}
		if c.DedicatedPortMax < c.DedicatedPortMin+1 || c.DedicatedPortMax > 65535 {
			bad("dedicated_port_max: must be above dedicated_port_min and at most 65535 (got %d)", c.DedicatedPortMax)
		}
	}
	if c.Workers < 0 || c.Workers > 256 {
		bad("workers: must be 0 (number of CPUs) to 256 (got %d)", c.Workers)
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatch {
		bad("batch_size: must be 1..%d (got %d)", maxBatch, c.BatchSize)
	}
	if c.WakeCoalesce < 0 || c.WakeCoalesce > 5*time.Millisecond {
		bad("wake_coalesce: must be 0..5ms (got %s)", c.WakeCoalesce)
	}
	if c.RecvBufferBytes < 0 {
		bad("recv_buffer_bytes: must not be negative (got %d)", c.RecvBufferBytes)
	}
	if c.SendBufferBytes < 0 {
		bad("send_buffer_bytes: must not be negative (got %d)", c.SendBufferBytes)
	}
	if c.DedicatedBufferBytes < 0 {
		bad("dedicated_buffer_bytes: must not be negative (got %d)", c.DedicatedBufferBytes)
	}
	if c.MediaTimeout <= 0 {
		bad("media_timeout: must be positive (got %s)", c.MediaTimeout)
	}
	if c.HoldTimeout < 0 {
		bad("hold_timeout: must not be negative (got %s)", c.HoldTimeout)
	}
	if c.DrainPeriod < 0 {
		bad("drain_period: must not be negative (got %s)", c.DrainPeriod)
	}
	if !c.Latching.valid() {
		bad("latching: must be off, immediate, delayed or heuristic (got %q)", c.Latching)
	}
	if c.LatchDelay < 0 {
		bad("latch_delay: must not be negative (got %s)", c.LatchDelay)
	}
	if c.MaxSessions < 0 {
		bad("max_sessions: must not be negative (got %d)", c.MaxSessions)
	}
	if c.NGListen != "" {
		if _, err := netip.ParseAddrPort(c.NGListen); err != nil {
			bad("ng_listen: %v", err)
		}
	}
	return errors.Join(errs...)
}

func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.NumCPU()
}
