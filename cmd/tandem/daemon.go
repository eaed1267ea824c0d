package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
)

// component is one part of the running daemon. Components start in order and
// stop in reverse order.
type component struct {
	name string
	// stopIntake refuses new work at once (close a listener, answer new
	// INVITEs 503). On SIGTERM every component's runs first, before any
	// drain waits, so that nothing new starts while others drain. nil: none.
	stopIntake func()
	// drain stops taking new work and waits for work in flight, until ctx
	// ends. nil means nothing to drain.
	drain func(ctx context.Context) error
	// close stops now and releases everything. nil means nothing to close.
	close func() error
}

// daemon is the running process: its logger, metrics registry, probes and
// components.
type daemon struct {
	cfg     Config
	log     *zap.Logger
	reg     *prometheus.Registry
	probes  *probes
	notify  *notifier
	env     env
	comps   []component
	bgWG    sync.WaitGroup
	bgStop  context.CancelFunc
	bgCtx   context.Context
	started time.Time
	// mainAccount is the main account's SID (for the health check).
	mainAccount string
}

// add appends a started component; its close function runs at most once,
// so that abort can close what stop is still draining.
func (d *daemon) add(c component) {
	if c.close != nil {
		c.close = sync.OnceValue(c.close)
	}
	d.comps = append(d.comps, c)
}

func runDaemon(args []string, e env) int {
	f, err := parseFlags("tandem", args, e)
	if err != nil {
		return 2
	}
	cfg, err := loadWithFlags(f, e)
	if err != nil {
		fmt.Fprintf(e.stderr, "tandem: %v\n", err)
		return 1
	}
	applySteadySysmon(cfg, e, "tandem")
	log, err := newLogger(cfg.Log, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "tandem: %v\n", err)
		return 1
	}
	defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable

	ctx, stopNow, cleanup := signalContext()
	defer cleanup()

	d := newDaemon(cfg, log, e)
	if err := d.start(ctx); err != nil {
		log.Error("start failed", zap.Error(err))
		d.stop(false)
		return 1
	}
	<-ctx.Done()
	graceful := !errors.Is(context.Cause(ctx), errStopNow)
	if graceful {
		log.Info("SIGTERM: draining", zap.Duration("http_timeout", cfg.Shutdown.HTTPTimeout), zap.Duration("drain_timeout", cfg.Shutdown.DrainTimeout))
	} else {
		log.Info("stopping now")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.stop(graceful)
	}()
	select {
	case <-done:
	case <-stopNow:
		// A second signal (or SIGINT) during a drain: stop now.
		log.Info("second signal: stopping now")
		d.abort()
		<-done
	}
	log.Info("stopped")
	return 0
}

func newDaemon(cfg Config, log *zap.Logger, e env) *daemon {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bgCtx, bgStop := context.WithCancel(context.Background())
	return &daemon{
		cfg: cfg, log: log, reg: reg, env: e,
		probes: &probes{},
		notify: newNotifier(e.getenv),
		bgCtx:  bgCtx, bgStop: bgStop,
		started: time.Now(),
	}
}

// start brings the daemon up; READY=1 goes to systemd once every listener is
// bound.
func (d *daemon) start(ctx context.Context) error {
	d.applyRuntime()
	d.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "tandem", Name: "ready", Help: "1 when the daemon takes new calls (all listeners up, not draining).",
	}, func() float64 {
		if d.probes.isReady() {
			return 1
		}
		return 0
	}))
	if err := d.startAdmin(); err != nil {
		return err
	}
	if err := d.startComponents(ctx); err != nil {
		return err
	}
	d.probes.ready.Store(true)
	if err := d.notify.send("READY=1\nSTATUS=taking calls"); err != nil {
		d.log.Warn("systemd notify", zap.Error(err))
	}
	if iv, err := watchdogInterval(d.env.getenv); err != nil {
		d.log.Warn("systemd watchdog disabled", zap.Error(err))
	} else if iv > 0 && d.notify.enabled() {
		d.bgWG.Add(1)
		go func() {
			defer d.bgWG.Done()
			d.notify.watchdog(d.bgCtx, iv, func() bool { return d.probes.checkHealth(d.bgCtx) == nil }, func(err error) {
				d.log.Warn("systemd watchdog", zap.Error(err))
			})
		}()
		d.log.Info("systemd watchdog enabled", zap.Duration("interval", iv))
	}
	d.log.Info("tandem started", zap.String("version", version), zap.String("admin", d.cfg.Admin.Listen), zap.Duration("startup", time.Since(d.started)))
	return nil
}

func (d *daemon) applyRuntime() {
	if d.cfg.Runtime.MemoryLimit != "" {
		n, _ := parseBytes(d.cfg.Runtime.MemoryLimit) // validated already
		debug.SetMemoryLimit(n)
	}
	if d.cfg.Runtime.GCPercent != 0 {
		debug.SetGCPercent(d.cfg.Runtime.GCPercent)
	}
}

// startAdmin binds the admin listener first, so /health answers while the
// rest starts.
func (d *daemon) startAdmin() error {
	if d.cfg.Admin.Listen == "" {
		return nil
	}
	srv, err := d.serveHTTP("admin", d.cfg.Admin.Listen, adminHandler(d.probes, d.reg, d.cfg.Admin.Pprof), nil)
	if err != nil {
		return err
	}
	// The admin listener is closed last (it is added first; components stop
	// in reverse order), so /health and /metrics answer during a drain.
	d.add(srv)
	return nil
}

// serveHTTP binds addr now (so a port conflict fails the start) and serves
// h on its own goroutine until the component is drained or closed. srv, if
// given, carries the server's timeouts (its Handler is replaced).
func (d *daemon) serveHTTP(name, addr string, h http.Handler, srv *http.Server) (component, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return component{}, fmt.Errorf("%s listener %s: %w", name, addr, err)
	}
	if srv == nil {
		srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	}
	g := &gracefulHTTP{}
	srv.Handler = g.wrap(h)
	srv.ConnState = g.connState
	srv.ErrorLog = zap.NewStdLog(d.log.Named(name))
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := srv.Serve(ln)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			d.log.Error("http server", zap.String("listener", name), zap.Error(err))
		}
	}()
	d.log.Info("listening", zap.String("listener", name), zap.String("addr", ln.Addr().String()))
	return component{
		name: name,
		// Stop accepting at once, but let requests that clients already
		// sent on idle keep-alive connections arrive: closing those
		// connections now would reset requests in flight on the wire (the
		// keep-alive race). Every answer from now on carries "Connection:
		// close"; after a short grace the rest is closed and Shutdown waits
		// for requests still running.
		stopIntake: func() {
			g.draining.Store(true)
			ln.Close()
		},
		drain: func(ctx context.Context) error {
			g.draining.Store(true)
			ln.Close()
			g.waitIdle(ctx, d.cfg.Shutdown.HTTPGrace)
			err := srv.Shutdown(ctx)
			<-done
			return err
		},
		close: func() error {
			err := srv.Close()
			<-done
			return err
		},
	}, nil
}

// gracefulHTTP tracks an http.Server's connections for a drain.
type gracefulHTTP struct {
	draining atomic.Bool
	mu       sync.Mutex
	conns    map[net.Conn]http.ConnState
}

func (g *gracefulHTTP) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

func (g *gracefulHTTP) connState(c net.Conn, st http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns == nil {
		g.conns = map[net.Conn]http.ConnState{}
	}
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(g.conns, c)
	default:
		g.conns[c] = st
	}
}

// waitIdle waits until every connection has closed (each closes after its
// next answer while draining), the grace period passes, or ctx ends.
func (g *gracefulHTTP) waitIdle(ctx context.Context, grace time.Duration) {
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		g.mu.Lock()
		n := len(g.conns)
		g.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// stop takes the daemon down: gracefully (drain each component, newest
// first, within the configured timeouts) or at once.
func (d *daemon) stop(graceful bool) {
	d.probes.draining.Store(true)
	if err := d.notify.send("STOPPING=1"); err != nil {
		d.log.Warn("systemd notify", zap.Error(err))
	}
	if graceful {
		for i := len(d.comps) - 1; i >= 0; i-- {
			if c := d.comps[i]; c.stopIntake != nil {
				c.stopIntake()
			}
		}
	}
	for i := len(d.comps) - 1; i >= 0; i-- {
		c := d.comps[i]
		if graceful && c.drain != nil {
			ctx, cancel := context.WithTimeout(context.Background(), d.drainBudget(c.name))
			if err := c.drain(ctx); err != nil {
				d.log.Warn("drain", zap.String("component", c.name), zap.Error(err))
			}
			cancel()
		}
		if c.close != nil {
			if err := c.close(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
				d.log.Warn("close", zap.String("component", c.name), zap.Error(err))
			}
		}
	}
	d.bgStop()
	d.bgWG.Wait()
	d.notify.close()
}

// abort closes every component now; used when a second signal arrives while
// stop(true) is draining. Close functions are safe to call twice.
func (d *daemon) abort() {
	for i := len(d.comps) - 1; i >= 0; i-- {
		if c := d.comps[i]; c.close != nil {
			_ = c.close()
		}
	}
}

// drainBudget is how long a component may drain: calls get the drain
// timeout, everything else the HTTP timeout.
func (d *daemon) drainBudget(name string) time.Duration {
	if name == "calls" {
		return d.cfg.Shutdown.DrainTimeout
	}
	return d.cfg.Shutdown.HTTPTimeout
}
