package sipstack

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config is the SIP section of tandem.yaml. Validation errors name keys
// relative to this section (cmd/tandem prefixes "sip.").
type Config struct {
	// Listen lists the sockets to serve. Several UDP sockets on the same
	// address share it with SO_REUSEPORT, each read by its own goroutine.
	Listen []ListenConfig `yaml:"listen"`
	// AdvertiseHost and AdvertisePort are written into Via, Contact and
	// From when tandem is behind NAT. Empty/0 means the listen address.
	AdvertiseHost string `yaml:"advertise_host"`
	AdvertisePort int    `yaml:"advertise_port"`
	// UserAgent is sent as User-Agent and Server.
	UserAgent string `yaml:"user_agent"`

	// InboundTrunks are the carriers allowed to send INVITEs, by source CIDR.
	InboundTrunks []InboundTrunk `yaml:"inbound_trunks"`
	// UnknownSource says what happens to an INVITE whose source matches no
	// inbound trunk: "reject" answers 403, "drop" ignores it silently (so a
	// scanner learns nothing).
	UnknownSource string `yaml:"unknown_source"`
	// OutboundTrunks are the gateways that E.164 numbers are dialled through.
	OutboundTrunks []OutboundTrunk `yaml:"outbound_trunks"`

	Admission AdmissionConfig `yaml:"admission"`
	Timers    TimersConfig    `yaml:"timers"`

	// MaxTCPConnections caps accepted TCP connections (each costs a file
	// descriptor and a reading goroutine); 0 means 10000.
	MaxTCPConnections int `yaml:"max_tcp_connections"`
	// MaxMessageSize is the largest SIP message accepted, in bytes.
	MaxMessageSize int `yaml:"max_message_size"`

	// Registrar configures REGISTER handling and digest authentication of
	// clients (issue 5). Disabled unless Realm is set and a credential
	// lookup is given with WithCredentials.
	Registrar RegistrarConfig `yaml:"registrar"`
}

// ListenConfig is one listening address.
type ListenConfig struct {
	Transport string `yaml:"transport"` // "udp" or "tcp"
	Address   string `yaml:"address"`   // host:port; port 0 picks a free port
	// Sockets is the number of UDP sockets bound to Address with
	// SO_REUSEPORT (the kernel spreads sources over them). Ignored for TCP.
	Sockets int `yaml:"sockets"`
}

// InboundTrunk is a carrier that may send calls, identified by source address.
type InboundTrunk struct {
	Name  string   `yaml:"name"`
	CIDRs []string `yaml:"cidrs"`
}

// OutboundTrunk is a gateway that E.164 numbers are routed through.
type OutboundTrunk struct {
	Name      string `yaml:"name"`
	URI       string `yaml:"uri"`       // e.g. sip:gw.example.net:5060
	Transport string `yaml:"transport"` // "udp" (default) or "tcp"
	Username  string `yaml:"username"`  // digest credentials, answered once per attempt
	Password  string `yaml:"password"`  // may be ${ENV} (expanded by cmd/tandem)
	// Prefixes are the number prefixes this gateway serves ("+1", "+4420");
	// an empty list serves every number. The longest matching prefix wins;
	// among equal prefixes the lower Priority is tried first.
	Prefixes []string `yaml:"prefixes"`
	Priority int      `yaml:"priority"`
}

// AdmissionConfig bounds the work a flood can cause. Every check runs before
// the SDP is parsed or the switch is asked. Zero means unlimited.
type AdmissionConfig struct {
	PerSourceRate  float64       `yaml:"per_source_rate"`  // INVITEs per second per source IP
	PerSourceBurst int           `yaml:"per_source_burst"` // bucket depth
	MaxCalls       int           `yaml:"max_calls"`        // concurrent inbound calls
	MaxCPS         float64       `yaml:"max_cps"`          // new inbound calls per second
	MaxSources     int           `yaml:"max_sources"`      // size of the per-source table
	RetryAfter     time.Duration `yaml:"retry_after"`      // Retry-After on 503
}

// TimersConfig holds the SIP timers that tandem's own code uses. sipgo's
// transaction timers stay at the RFC 3261 defaults (T1 500 ms).
type TimersConfig struct {
	// T1 is the RTT estimate: 2xx retransmission starts at T1 and doubles up
	// to T2 (RFC 3261 §13.3.1.4); giving up after 64*T1.
	T1 time.Duration `yaml:"t1"`
	T2 time.Duration `yaml:"t2"`
	// RingTimeout ends an outbound INVITE that has no final answer with
	// CANCEL, unless the DialRequest sets its own timeout.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// TransactionLinger is how long a finished transaction is kept to absorb
	// retransmissions before tandem frees it. RFC 3261 keeps them 64*T1
	// (32 s), which at 1000 calls/s holds ~750 MB; retransmissions come at
	// T1, 2T1, 4T1, so a few seconds absorb them.
	TransactionLinger time.Duration `yaml:"transaction_linger"`
	// GatewayTimeout moves an outbound call on to the next gateway when the
	// current one has sent no response at all (not even 100) by then; the
	// last gateway gets the full 64*T1 of Timer B.
	GatewayTimeout time.Duration `yaml:"gateway_timeout"`
}

// RegistrarConfig configures the registrar (issue 5).
type RegistrarConfig struct {
	Realm          string        `yaml:"realm"`           // digest realm, e.g. sip.example.com
	MinExpires     time.Duration `yaml:"min_expires"`     // shorter requests get 423
	MaxExpires     time.Duration `yaml:"max_expires"`     // longer requests are capped
	DefaultExpires time.Duration `yaml:"default_expires"` // when the client names none
	MaxContacts    int           `yaml:"max_contacts"`    // per address-of-record
	NonceTTL       time.Duration `yaml:"nonce_ttl"`       // how long a challenge nonce is valid
	// NonceSecret keys the HMAC of stateless nonces; empty means random per
	// process (nonces then do not survive a restart).
	NonceSecret string `yaml:"nonce_secret"`
}

// DefaultConfig listens on 127.0.0.1:5060 over UDP (two sockets) and TCP.
func DefaultConfig() Config {
	return Config{
		Listen: []ListenConfig{
			{Transport: "udp", Address: "127.0.0.1:5060", Sockets: 2},
			{Transport: "tcp", Address: "127.0.0.1:5060"},
		},
		UserAgent:     "tandem",
		UnknownSource: "reject",
		Admission: AdmissionConfig{
			PerSourceRate:  0,
			PerSourceBurst: 0,
			MaxCalls:       0,
			MaxCPS:         0,
			MaxSources:     65536,
			RetryAfter:     5 * time.Second,
		},
		Timers: TimersConfig{
			T1:                500 * time.Millisecond,
			T2:                4 * time.Second,
			RingTimeout:       60 * time.Second,
			TransactionLinger: 4 * time.Second,
			GatewayTimeout:    4 * time.Second,
		},
		MaxTCPConnections: 10000,
		MaxMessageSize:    65535,
		Registrar: RegistrarConfig{
			MinExpires:     60 * time.Second,
			MaxExpires:     3600 * time.Second,
			DefaultExpires: 600 * time.Second,
			MaxContacts:    5,
			NonceTTL:       5 * time.Minute,
		},
	}
}

// Validate checks the configuration and names the offending key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if len(c.Listen) == 0 {
		bad("listen", "needs at least one entry")
	}
	for i, l := range c.Listen {
		key := fmt.Sprintf("listen[%d]", i)
		switch l.Transport {
		case "udp", "tcp":
		default:
			bad(key+".transport", "must be udp or tcp (got %q)", l.Transport)
		}
		ap, err := netip.ParseAddrPort(l.Address)
		if err != nil {
			bad(key+".address", "must be ip:port (got %q)", l.Address)
		} else if ap.Addr().IsUnspecified() && c.AdvertiseHost == "" {
			bad(key+".address", "a wildcard address needs advertise_host (got %q)", l.Address)
		}
		if l.Sockets < 0 || l.Sockets > 64 {
			bad(key+".sockets", "must be between 0 and 64 (got %d)", l.Sockets)
		}
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		bad("advertise_port", "must be a port number (got %d)", c.AdvertisePort)
	}
	if strings.ContainsAny(c.AdvertiseHost, " \t\r\n;,<>\"") {
		bad("advertise_host", "must be a host name or IP (got %q)", c.AdvertiseHost)
	}
	if strings.ContainsAny(c.UserAgent, "\r\n") {
		bad("user_agent", "must be one line")
	}
	switch c.UnknownSource {
	case "reject", "drop", "":
	default:
		bad("unknown_source", "must be reject or drop (got %q)", c.UnknownSource)
	}
	names := map[string]bool{}
	for i, t := range c.InboundTrunks {
		key := fmt.Sprintf("inbound_trunks[%d]", i)
		if t.Name == "" {
			bad(key+".name", "must not be empty")
		} else if names["in:"+t.Name] {
			bad(key+".name", "duplicate trunk name %q", t.Name)
		}
		names["in:"+t.Name] = true
		if len(t.CIDRs) == 0 {
			bad(key+".cidrs", "needs at least one CIDR")
		}
		for j, s := range t.CIDRs {
			if _, err := parsePrefix(s); err != nil {
				bad(fmt.Sprintf("%s.cidrs[%d]", key, j), "%v", err)
			}
		}
	}
	for i, t := range c.OutboundTrunks {
		key := fmt.Sprintf("outbound_trunks[%d]", i)
		if t.Name == "" {
			bad(key+".name", "must not be empty")
		} else if names["out:"+t.Name] {
			bad(key+".name", "duplicate trunk name %q", t.Name)
		}
		names["out:"+t.Name] = true
		if _, err := parseTarget(t.URI); err != nil {
			bad(key+".uri", "%v", err)
		}
		switch t.Transport {
		case "", "udp", "tcp":
		default:
			bad(key+".transport", "must be udp or tcp (got %q)", t.Transport)
		}
		for j, p := range t.Prefixes {
			if !isDialString(p) && p != "" {
				bad(fmt.Sprintf("%s.prefixes[%d]", key, j), "must be digits with an optional leading + (got %q)", p)
			}
		}
	}
	a := c.Admission
	if a.PerSourceRate < 0 {
		bad("admission.per_source_rate", "must not be negative (got %v)", a.PerSourceRate)
	}
	if a.PerSourceRate > 0 && a.PerSourceBurst < 1 {
		bad("admission.per_source_burst", "must be at least 1 when per_source_rate is set (got %d)", a.PerSourceBurst)
	}
	if a.MaxCalls < 0 {
		bad("admission.max_calls", "must not be negative (got %d)", a.MaxCalls)
	}
	if a.MaxCPS < 0 {
		bad("admission.max_cps", "must not be negative (got %v)", a.MaxCPS)
	}
	if a.MaxSources < 1 {
		bad("admission.max_sources", "must be at least 1 (got %d)", a.MaxSources)
	}
	if a.RetryAfter < time.Second {
		bad("admission.retry_after", "must be at least 1s (got %v)", a.RetryAfter)
	}
	tm := c.Timers
	if tm.T1 <= 0 {
		bad("timers.t1", "must be positive (got %v)", tm.T1)
	}
	if tm.T2 < tm.T1 {
		bad("timers.t2", "must be at least t1 (got %v)", tm.T2)
	}
	if tm.RingTimeout <= 0 {
		bad("timers.ring_timeout", "must be positive (got %v)", tm.RingTimeout)
	}
	if tm.TransactionLinger < 0 {
		bad("timers.transaction_linger", "must not be negative (got %v)", tm.TransactionLinger)
	}
	if tm.GatewayTimeout <= 0 {
		bad("timers.gateway_timeout", "must be positive (got %v)", tm.GatewayTimeout)
	}
	if c.MaxTCPConnections < 0 {
		bad("max_tcp_connections", "must not be negative (got %d)", c.MaxTCPConnections)
	}
	if c.MaxMessageSize < 1024 || c.MaxMessageSize > 65535 {
		bad("max_message_size", "must be between 1024 and 65535 (got %d)", c.MaxMessageSize)
	}
	r := c.Registrar
	if r.Realm != "" {
		if strings.ContainsAny(r.Realm, "\"\r\n") {
			bad("registrar.realm", "must not contain quotes or line breaks")
		}
		if r.MinExpires <= 0 || r.MaxExpires < r.MinExpires {
			bad("registrar.max_expires", "must be at least min_expires, both positive (got %v, %v)", r.MinExpires, r.MaxExpires)
		}
		if r.DefaultExpires < r.MinExpires || r.DefaultExpires > r.MaxExpires {
			bad("registrar.default_expires", "must lie between min_expires and max_expires (got %v)", r.DefaultExpires)
		}
		if r.MaxContacts < 1 {
			bad("registrar.max_contacts", "must be at least 1 (got %d)", r.MaxContacts)
		}
		if r.NonceTTL < time.Second {
			bad("registrar.nonce_ttl", "must be at least 1s (got %v)", r.NonceTTL)
		}
	}
	return errors.Join(errs...)
}

// parsePrefix accepts a CIDR or a bare IP (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad IP or CIDR %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// isDialString reports whether s is an E.164-style number: an optional
// leading '+' and 1 to 32 digits.
func isDialString(s string) bool {
	if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
