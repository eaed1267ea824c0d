package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// probes holds the two states the admin listener reports: health (the
// process works: its store answers) and readiness (it takes new calls: every
// listener is up and it is not draining). They are separate on purpose: a
// draining node is healthy but not ready, so a load balancer stops sending it
// calls while systemd leaves it alone.
type probes struct {
	ready    atomic.Bool
	draining atomic.Bool
	healthy  func(ctx context.Context) error
}

func (p *probes) isReady() bool { return p.ready.Load() && !p.draining.Load() }

func (p *probes) checkHealth(ctx context.Context) error {
	if p.healthy == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return p.healthy(ctx)
}

func writeProbe(w http.ResponseWriter, ok bool, status string, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	body := map[string]string{"status": status}
	if detail != "" {
		body["detail"] = detail
	}
	_ = json.NewEncoder(w).Encode(body)
}

// adminHandler serves /health, /ready, /metrics and (when enabled)
// /debug/pprof/.
func adminHandler(p *probes, gatherer prometheus.Gatherer, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if err := p.checkHealth(r.Context()); err != nil {
			writeProbe(w, false, "unhealthy", err.Error())
			return
		}
		writeProbe(w, true, "ok", "")
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case p.draining.Load():
			writeProbe(w, false, "draining", "")
		case !p.ready.Load():
			writeProbe(w, false, "starting", "")
		default:
			writeProbe(w, true, "ready", "")
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
