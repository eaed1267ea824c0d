package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"tandem/rtpengine"
	"tandem/rtpengine/ng"
)

// runMediaCommand runs the media core alone, driven over rtpengine's ng
// protocol on media.ng_listen, so that tandem can stand in for rtpengine
// behind a Kamailio or OpenSIPS SBC. It reads the same configuration file
// (only the log, admin, runtime and media sections matter) and stops on
// SIGTERM or SIGINT.
func runMediaCommand(args []string, e env) int {
	f, err := parseFlags("media", args, e)
	if err != nil {
		return 2
	}
	cfg, err := loadWithFlags(f, e)
	if err != nil {
		fmt.Fprintf(e.stderr, "tandem media: %v\n", err)
		return 1
	}
	if cfg.Media.NGListen == "" {
		fmt.Fprintln(e.stderr, "tandem media: media.ng_listen is empty: set the address of the ng control socket (e.g. 127.0.0.1:2223)")
		return 1
	}
	applySteadySysmon(cfg, e, "tandem media")
	log, err := newLogger(cfg.Log, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "tandem media: %v\n", err)
		return 1
	}
	defer log.Sync() //nolint:errcheck

	ctx, _, cleanup := signalContext()
	defer cleanup()

	d := newDaemon(cfg, log, e)
	d.applyRuntime()
	if err := d.startAdmin(); err != nil {
		log.Error("start failed", zap.Error(err))
		return 1
	}
	engine, err := rtpengine.New(cfg.Media, rtpengine.WithLogger(slogFor(log, "media")))
	if err != nil {
		log.Error("media", zap.Error(err))
		d.stop(false)
		return 1
	}
	d.add(component{name: "media", close: engine.Close})
	d.reg.MustRegister(&statsCollector{
		subsystem: "media", snapshot: func() any { return engine.Stats() },
		arrayLabel: map[string]func(int) (string, string){
			"Drops": func(i int) (string, string) { return "reason", rtpengine.DropReason(i).String() },
		},
	})
	done := make(chan error, 1)
	ngCtx, stopNG := context.WithCancel(context.Background())
	go func() { done <- ng.ListenAndServe(ngCtx, cfg.Media.NGListen, engine, slogFor(log, "ng")) }()
	select {
	case err := <-done:
		stopNG()
		log.Error("ng", zap.Error(err))
		d.stop(false)
		return 1
	case <-time.After(50 * time.Millisecond):
	}
	d.probes.ready.Store(true)
	if err := d.notify.send("READY=1\nSTATUS=media core taking ng commands"); err != nil {
		log.Warn("systemd notify", zap.Error(err))
	}
	log.Info("tandem media started", zap.String("ng", cfg.Media.NGListen))
	<-ctx.Done()
	stopNG()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("ng", zap.Error(err))
	}
	d.stop(false)
	log.Info("stopped")
	return 0
}
