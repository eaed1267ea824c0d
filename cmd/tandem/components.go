package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"tandem/control"
	"tandem/control/store"
	"tandem/rtpengine"
	"tandem/rtpengine/ng"
	"tandem/sipstack"
	callswitch "tandem/switch"
	"tandem/switch/webhook"
)

// startComponents starts the store, the media core, the webhook client, the
// SIP stack, the switch and the control API, in dependency order. Each one
// is appended to d.comps as it starts, so a failure stops the ones already
// running (in reverse order).
func (d *daemon) startComponents(ctx context.Context) error {
	st, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	writer, err := store.NewCallWriter(st, d.cfg.Store.CallWriter, slogFor(d.log, "store"))
	if err != nil {
		return err
	}
	d.add(component{name: "call_writer", close: writer.Close})
	d.probes.healthy = func(ctx context.Context) error {
		_, err := st.Account(ctx, d.mainAccount)
		return err
	}

	events := make(chan rtpengine.Event, 4096)
	media, err := rtpengine.New(d.cfg.Media, rtpengine.WithLogger(slogFor(d.log, "media")), rtpengine.WithEvents(events))
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	d.add(component{name: "media", close: media.Close})
	if d.cfg.Media.NGListen != "" {
		if err := d.startNG(media); err != nil {
			return err
		}
	}

	hooks, err := webhook.New(d.cfg.Webhook, webhook.WithLogger(slogFor(d.log, "webhook")))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	d.add(component{name: "webhook", close: hooks.Close})

	// The stack exists before the switch that handles its INVITEs.
	var sw *callswitch.Switch
	sipOpts := []sipstack.Option{
		sipstack.WithLogger(slogFor(d.log, "sip")),
		sipstack.WithInviteHandler(func(c *sipstack.InboundCall) { sw.HandleInvite(c) }),
	}
	if d.cfg.SIP.Registrar.Realm != "" {
		sipOpts = append(sipOpts, sipstack.WithCredentials(credentials{st: st, realm: d.cfg.SIP.Registrar.Realm}))
	}
	sip, err := sipstack.New(d.cfg.SIP, sipOpts...)
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	sw, err = callswitch.New(d.cfg.Calls, callswitch.Deps{
		SIP: sip, Media: media, Webhooks: hooks,
		Directory:   directory{st: st, writer: writer},
		MediaEvents: events,
	}, callswitch.WithLogger(slogFor(d.log, "calls")))
	if err != nil {
		return err
	}
	if err := sip.Start(ctx); err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	d.add(component{name: "sip", close: sip.Close})
	d.add(component{
		name: "calls",
		stopIntake: func() {
			sip.Drain() // new INVITEs get 503 + Retry-After
			sw.StopIntake()
		},
		drain: func(ctx context.Context) error {
			sip.Drain()
			return sw.Drain(ctx)
		},
		close: sw.Close,
	})
	for _, l := range d.cfg.SIP.Listen {
		d.log.Info("listening", zap.String("listener", "sip"), zap.String("transport", l.Transport), zap.String("addr", sip.Addr(l.Transport).String()))
	}

	api, err := control.New(d.cfg.API, st, callsAPI{sw: sw},
		control.WithLogger(slogFor(d.log, "api")),
		control.WithRegisterer(d.reg),
		control.WithSIPRealm(d.cfg.SIP.Registrar.Realm))
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	srv, err := d.serveHTTP("api", d.cfg.API.Listen, api.Handler(), d.cfg.API.HTTPServer(nil))
	if err != nil {
		return err
	}
	d.add(srv)

	d.registerMetrics(sip, media, hooks, sw, writer, st)
	return nil
}

// openStore opens the SQLite store, marks calls a crash left live as failed,
// and makes sure the main account exists (printing its credentials once,
// when it was just created).
func (d *daemon) openStore(ctx context.Context) (store.Store, error) {
	if err := ensureDataDir(d.cfg.DataDir); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, d.cfg.dbPath(), d.cfg.Store.Config, store.WithLogger(slogFor(d.log, "store")))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	d.add(component{name: "store", close: st.Close})
	// Open marks the calls a crash left live as failed (ARCHITECTURE.md
	// "State": a crash loses live calls, never a finished call's record).
	if n := st.Recovered(); n > 0 {
		d.log.Warn("calls left live by an earlier crash marked failed", zap.Int64("calls", n))
	}
	want := store.Account{SID: d.env.getenv("TANDEM_ACCOUNT_SID"), AuthToken: d.env.getenv("TANDEM_AUTH_TOKEN"), FriendlyName: "Main account"}
	if want.SID != "" && !validSID(want.SID, "AC") {
		return nil, fmt.Errorf("TANDEM_ACCOUNT_SID=%q: must be AC followed by 32 hex digits", want.SID)
	}
	if want.AuthToken != "" && len(want.AuthToken) < 16 {
		return nil, errors.New("TANDEM_AUTH_TOKEN: must be at least 16 characters")
	}
	acct, created, err := st.EnsureMainAccount(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("store: main account: %w", err)
	}
	d.mainAccount = acct.SID
	if created {
		// Printed once, on the first start, unless the operator chose the
		// token (then it is already known, and stdout may be journald).
		token := acct.AuthToken
		if want.AuthToken != "" {
			token = "(from TANDEM_AUTH_TOKEN)"
		}
		fmt.Fprintf(d.env.stdout, "tandem: created the main account\n  AccountSid: %s\n  AuthToken:  %s\n", acct.SID, token)
		d.log.Info("main account created", zap.String("account_sid", acct.SID))
	} else {
		d.log.Info("main account", zap.String("account_sid", acct.SID))
	}
	return st, nil
}

func validSID(s, prefix string) bool {
	if len(s) != 34 || s[:2] != prefix {
		return false
	}
	for _, r := range s[2:] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// startNG serves rtpengine's ng control protocol on media.ng_listen.
func (d *daemon) startNG(media *rtpengine.Engine) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ng.ListenAndServe(ctx, d.cfg.Media.NGListen, media, slogFor(d.log, "ng")) }()
	// A bind failure returns at once; give it a moment to show.
	select {
	case err := <-done:
		cancel()
		return fmt.Errorf("media.ng_listen: %w", err)
	case <-time.After(50 * time.Millisecond):
	}
	d.log.Info("listening", zap.String("listener", "ng"), zap.String("addr", d.cfg.Media.NGListen))
	d.add(component{name: "ng", close: func() error {
		cancel()
		err := <-done
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}})
	return nil
}
