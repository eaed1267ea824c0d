package rtpengine

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidateNamesKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		mod func(*Config)
	}{
		{"interfaces:", func(c *Config) { c.Interfaces = nil }},
		{"interfaces[0].bind_ip:", func(c *Config) { c.Interfaces[0].BindIP = "nope" }},
		{"interfaces[0].advertised_ip:", func(c *Config) { c.Interfaces[0].BindIP = "0.0.0.0" }},
		{"interfaces[0].shared_ports:", func(c *Config) { c.Interfaces[0].SharedPorts = nil }},
		{"interfaces[0].shared_ports[0]:", func(c *Config) { c.Interfaces[0].SharedPorts = []int{70000} }},
		{"interfaces[1].name:", func(c *Config) { c.Interfaces = append(c.Interfaces, c.Interfaces[0]) }},
		{"dedicated_port_max:", func(c *Config) { c.DedicatedPortMax = c.DedicatedPortMin }},
		{"workers:", func(c *Config) { c.Workers = -1 }},
		{"batch_size:", func(c *Config) { c.BatchSize = 0 }},
		{"wake_coalesce:", func(c *Config) { c.WakeCoalesce = time.Second }},
		{"media_timeout:", func(c *Config) { c.MediaTimeout = 0 }},
		{"drain_period:", func(c *Config) { c.DrainPeriod = -time.Second }},
		{"latching:", func(c *Config) { c.Latching = "sometimes" }},
		{"ng_listen:", func(c *Config) { c.NGListen = "localhost" }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("error %v, want one naming %q", err, tc.key)
			}
		})
	}
}
