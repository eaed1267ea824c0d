package callswitch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tandem/rtpengine"
	"tandem/sipstack"
	"tandem/switch/webhook"
)

// Switch is call control: it takes the calls the SIP stack admits and the
// calls the REST API starts, runs their TwiML, and connects them through the
// media core.
type Switch struct {
	cfg   Config
	sip   *sipstack.Stack
	media *rtpengine.Engine
	hooks *webhook.Client
	dir   Directory
	log   *slog.Logger
	now   func() time.Time

	calls    sync.Map // CallSid → *Call, every live leg
	wg       sync.WaitGroup
	draining atomic.Bool
	closed   atomic.Bool
	stats    stats

	events    chan rtpengine.Event
	eventsWG  sync.WaitGroup
	stopEvent chan struct{}
}

// Deps are the components the switch drives.
type Deps struct {
	SIP       *sipstack.Stack
	Media     *rtpengine.Engine
	Webhooks  *webhook.Client
	Directory Directory
	// MediaEvents is the channel given to rtpengine.WithEvents; the switch
	// reads it (media timeouts end calls). Nil: no media events.
	MediaEvents chan rtpengine.Event
}

// Option configures a Switch.
type Option func(*Switch)

// WithLogger sets the logger (nil: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Switch) {
		if l != nil {
			s.log = l
		}
	}
}

// WithClock injects the clock used for call times.
func WithClock(now func() time.Time) Option {
	return func(s *Switch) {
		if now != nil {
			s.now = now
		}
	}
}

// New builds a switch. The SIP stack must be created with
// sipstack.WithInviteHandler(sw.HandleInvite) (through a closure, since the
// stack exists before the switch) and started by the caller.
func New(cfg Config, deps Deps, opts ...Option) (*Switch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("calls config: %w", err)
	}
	if deps.SIP == nil || deps.Media == nil || deps.Webhooks == nil || deps.Directory == nil {
		return nil, errors.New("callswitch: SIP, Media, Webhooks and Directory are required")
	}
	s := &Switch{
		cfg: cfg, sip: deps.SIP, media: deps.Media, hooks: deps.Webhooks, dir: deps.Directory,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:       time.Now,
		events:    deps.MediaEvents,
		stopEvent: make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.events != nil {
		s.eventsWG.Add(1)
		go s.mediaEvents()
	}
	return s, nil
}

// StopIntake refuses new calls (REST creations get ErrDraining) without
// waiting for live ones.
func (s *Switch) StopIntake() { s.draining.Store(true) }

// Drain stops taking new calls (the SIP stack answers 503 itself once its
// own Drain is called; the REST API gets ErrDraining) and waits for live
// calls to end until ctx is done; then it hangs up the rest.
func (s *Switch) Drain(ctx context.Context) error {
	s.draining.Store(true)
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		n := s.hangupAll()
		<-done
		return fmt.Errorf("drain: %d calls still up at the deadline were ended: %w", n, ctx.Err())
	}
}

// Close ends every call now and waits for their goroutines.
func (s *Switch) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.draining.Store(true)
	s.hangupAll()
	s.wg.Wait()
	close(s.stopEvent)
	s.eventsWG.Wait()
	return nil
}

// hangupAll ends every live call (the controlling legs; their children
// follow) and returns how many there were.
func (s *Switch) hangupAll() int {
	n := 0
	s.calls.Range(func(_, v any) bool {
		c := v.(*Call)
		if c.parent == nil {
			c.interrupt(errShutdown, nil)
			n++
		}
		return true
	})
	return n
}

// ActiveCalls is the number of live call legs.
func (s *Switch) ActiveCalls() int {
	return int(s.stats.active.Load())
}

// lookup returns a live call by SID.
func (s *Switch) lookup(sid string) (*Call, bool) {
	v, ok := s.calls.Load(sid)
	if !ok {
		return nil, false
	}
	return v.(*Call), true
}

// mediaEvents ends calls whose media timed out: ARCHITECTURE.md "a leg with
// no RTP for the media timeout is reported (and ended, unless it is on hold
// or sendonly)"; the engine already holds back the event for held legs.
func (s *Switch) mediaEvents() {
	defer s.eventsWG.Done()
	for {
		select {
		case <-s.stopEvent:
			return
		case ev := <-s.events:
			if ev.Type != rtpengine.EventMediaTimeout {
				continue
			}
			if ev.Leg == nil {
				continue
			}
			c, ok := s.lookup(ev.Leg.Label())
			if !ok {
				continue
			}
			s.stats.mediaTimeouts.Add(1)
			c.log.Info("media timeout: ending call", "leg", ev.Leg.Label())
			root := c.root()
			root.interrupt(errMediaTimeout, nil)
		}
	}
}

// stats are the switch's counters (exported by cmd/tandem).
type stats struct {
	active        atomic.Int64
	inbound       atomic.Uint64
	outboundAPI   atomic.Uint64
	outboundDial  atomic.Uint64
	completed     atomic.Uint64
	failed        atomic.Uint64
	fetchErrors   atomic.Uint64
	mediaTimeouts atomic.Uint64
	warnings      atomic.Uint64
	rejected      atomic.Uint64
}

// Stats is a snapshot of the switch's counters.
type Stats struct {
	ActiveCalls      int64
	InboundCalls     uint64
	OutboundAPICalls uint64
	DialedLegs       uint64
	Completed        uint64
	Failed           uint64
	FetchErrors      uint64
	MediaTimeouts    uint64
	TwiMLWarnings    uint64
	Rejected         uint64
}

// Stats returns the counters.
func (s *Switch) Stats() Stats {
	return Stats{
		ActiveCalls:      s.stats.active.Load(),
		InboundCalls:     s.stats.inbound.Load(),
		OutboundAPICalls: s.stats.outboundAPI.Load(),
		DialedLegs:       s.stats.outboundDial.Load(),
		Completed:        s.stats.completed.Load(),
		Failed:           s.stats.failed.Load(),
		FetchErrors:      s.stats.fetchErrors.Load(),
		MediaTimeouts:    s.stats.mediaTimeouts.Load(),
		TwiMLWarnings:    s.stats.warnings.Load(),
		Rejected:         s.stats.rejected.Load(),
	}
}
