package sipstack

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// maxLogValue is the longest string value passed on from sipgo's logs.
// sipgo logs every unparsable packet whole (up to 64 KB) at Error, so the
// sender of garbage would otherwise choose our log volume.
const maxLogValue = 160

// sipgoParseFailure is the message sipgo logs when it drops an unparsable
// UDP packet (sip/transport_udp.go); records with it are counted as parse
// errors.
const sipgoParseFailure = "failed to parse"

// guardHandler sits between sipgo and the application's logger: records at
// Info and above are rate limited (a token bucket), string values are
// truncated, and dropped records are counted. Debug records pass unlimited
// (they are only enabled on purpose) but are truncated too.
type guardHandler struct {
	next    slog.Handler
	limit   *gcra
	now     func() time.Time
	stats   *counters
	maxSize int
}

func newGuardHandler(next slog.Handler, now func() time.Time, stats *counters) *guardHandler {
	return &guardHandler{
		next:    next,
		limit:   newGCRA(20, 50), // 20 records/s, bursts of 50
		now:     now,
		stats:   stats,
		maxSize: maxLogValue,
	}
}

// Enabled says yes to Warn and above even when the application logger is
// off, so that parse failures are still counted.
func (h *guardHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

func (h *guardHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == sipgoParseFailure {
		h.stats.parseErrors.Add(1)
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	if r.Level >= slog.LevelInfo && !h.limit.allow(h.now().UnixNano()) {
		h.stats.logsDropped.Add(1)
		return nil
	}
	out := slog.NewRecord(r.Time, r.Level, truncate(r.Message, h.maxSize), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.trim(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *guardHandler) trim(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, truncate(v.String(), h.maxSize))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, truncate(err.Error(), h.maxSize))
		}
		return slog.String(a.Key, truncate(v.String(), h.maxSize))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, 0, len(g))
		for _, x := range g {
			out = append(out, h.trim(x))
		}
		return slog.Group(a.Key, out...)
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *guardHandler) WithAttrs(as []slog.Attr) slog.Handler {
	trimmed := make([]slog.Attr, len(as))
	for i, a := range as {
		trimmed[i] = h.trim(a)
	}
	c := *h
	c.next = h.next.WithAttrs(trimmed)
	return &c
}

func (h *guardHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…(" + strconv.Itoa(len(s)-n) + " bytes cut)"
}

// discardHandler drops everything (a nil logger option).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
