package webhook

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Client makes every HTTP request tandem sends to applications: TwiML
// fetches (Fetch, FetchWithFallback) and status callbacks (Notify). It keeps
// bounded keep-alive connection pools per scheme://host:port, owns the
// status-callback workers and one idle-connection cleaner, and is safe for
// concurrent use. Close stops it.
type Client struct {
	cfg       Config
	defaults  Overrides
	log       *slog.Logger
	now       func() time.Time
	dialFunc  func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig *tls.Config

	pools sync.Map // pool key → *hostPool
	stats stats

	tokenPrefix [16]byte // random, hex: idempotency tokens are prefix-seq
	tokenSeq    atomic.Uint64

	callbacks *callbackQueue

	closed    atomic.Bool
	closeOnce sync.Once
	done      chan struct{}      // closed by Close: stops the cleaner
	cbCtx     context.Context    // callback deliveries; canceled at the drain deadline
	cbCancel  context.CancelFunc //
	wg        sync.WaitGroup     // cleaner and callback workers
}

// Option configures a Client.
type Option func(*Client) error

// WithLogger sets the logger (nil discards). The client logs retries and
// failures at Debug: the call path logs the outcome per call.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithClock injects the clock. Deadlines handed to sockets are computed from
// it, so it must advance with real time; tests use it to control cookie
// expiry and idle-connection eviction.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return errors.New("webhook: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithDialer replaces the TCP dialer (a net.Dialer's DialContext by
// default). The context carries the connect deadline (#ct).
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *Client) error {
		if dial == nil {
			return errors.New("webhook: WithDialer: nil dialer")
		}
		c.dialFunc = dial
		return nil
	}
}

// WithTLSConfig sets the TLS configuration for https URLs (root CAs, client
// certificates). ServerName is filled in per host.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *Client) error {
		if cfg == nil {
			return errors.New("webhook: WithTLSConfig: nil config")
		}
		c.tlsConfig = cfg.Clone()
		return nil
	}
}

// New validates cfg and starts the client's goroutines (one idle-connection
// cleaner and cfg.CallbackWorkers callback workers).
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook config: %w", err)
	}
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	c := &Client{
		cfg:       cfg,
		defaults:  cfg.overrides(),
		log:       slog.New(slog.DiscardHandler),
		now:       time.Now,
		dialFunc:  d.DialContext,
		tlsConfig: &tls.Config{MinVersion: tls.VersionTLS12},
		done:      make(chan struct{}),
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("webhook: idempotency token seed: %w", err)
	}
	hex.Encode(c.tokenPrefix[:], seed[:])

	c.cbCtx, c.cbCancel = context.WithCancel(context.Background())
	c.callbacks = newCallbackQueue(c, cfg.CallbackQueueSize)
	c.wg.Add(1 + cfg.CallbackWorkers)
	go c.cleaner()
	for range cfg.CallbackWorkers {
		go c.callbacks.worker()
	}
	return c, nil
}

// Close stops accepting callbacks, waits up to CallbackDrainTimeout for the
// queued ones to be delivered (then cancels the rest, counting them as
// dropped), stops the workers and the cleaner, and closes idle connections.
// Fetches still running finish normally; new ones fail with ErrClosed.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.callbacks.close()
		timer := time.AfterFunc(c.cfg.CallbackDrainTimeout, func() {
			c.callbacks.abandon()
			c.cbCancel()
		})
		close(c.done)
		c.wg.Wait()
		timer.Stop()
		c.cbCancel()
		c.closePools()
	})
	return nil
}

// appendToken appends a fresh idempotency token: the client's random prefix
// and a sequence number, unique per process without a syscall per request.
func (c *Client) appendToken(dst []byte) []byte {
	dst = append(dst, c.tokenPrefix[:]...)
	dst = append(dst, '-')
	n := c.tokenSeq.Add(1)
	var b [16]byte
	i := len(b)
	for {
		i--
		b[i] = "0123456789abcdef"[n&0xf]
		n >>= 4
		if n == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}
