package control

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Config is the control API's section of the daemon configuration.
type Config struct {
	// Listen is the TCP address of the REST API.
	Listen string `yaml:"listen"`
	// MaxBodyBytes bounds a request body (form parameters; a Twiml
	// parameter is at most 4000 characters).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the
	// http.Server's, so that a slow or idle client cannot hold a connection.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
}

// DefaultConfig listens on loopback only: exposing the API is a decision.
func DefaultConfig() Config {
	return Config{
		Listen:            "127.0.0.1:8080",
		MaxBodyBytes:      64 << 10,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// Validate names every bad key.
func (c Config) Validate() error {
	var errs []error
	if host, port, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: must be host:port (got %q): %w", c.Listen, err))
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("listen: port must be 0-65535 (got %q)", port))
	} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		errs = append(errs, fmt.Errorf("listen: host must be an IP address or localhost (got %q)", host))
	}
	if c.MaxBodyBytes < 4096 {
		errs = append(errs, fmt.Errorf("max_body_bytes: must be at least 4096 (got %d)", c.MaxBodyBytes))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout}, {"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout}, {"idle_timeout", c.IdleTimeout},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive (got %s)", d.key, d.v))
		}
	}
	if c.MaxHeaderBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_header_bytes: must be at least 1024 (got %d)", c.MaxHeaderBytes))
	}
	return errors.Join(errs...)
}

// HTTPServer returns an http.Server for h with this configuration's address
// and limits; the caller runs and shuts it down.
func (c Config) HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Addr:              c.Listen,
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
	}
}
