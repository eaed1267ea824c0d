package callswitch

import (
	"context"
	"log/slog"
	"slices"
)

// withAttrs returns l with args (slog key-value pairs) added to every
// record it logs. Unlike l.With, it does not hand the attributes to the
// handler now: zap's handler encodes them into a new buffer at With time,
// which is several allocations per call and per leg at thousands of calls
// a second, for calls that at the default level log nothing. The
// attributes are added only to records that are actually logged.
func withAttrs(l *slog.Logger, args ...any) *slog.Logger {
	h := l.Handler()
	var attrs []slog.Attr
	if lh, ok := h.(*lazyAttrs); ok {
		h, attrs = lh.base, slices.Clip(lh.attrs)
	}
	r := slog.Record{}
	r.Add(args...)
	attrs = slices.Grow(attrs, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	return slog.New(&lazyAttrs{base: h, attrs: attrs})
}

// lazyAttrs is the handler behind withAttrs.
type lazyAttrs struct {
	base  slog.Handler
	attrs []slog.Attr
}

func (h *lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return h.base.Enabled(ctx, level)
}

func (h *lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(a)
		return true
	})
	return h.base.Handle(ctx, nr)
}

func (h *lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lazyAttrs{base: h.base, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *lazyAttrs) WithGroup(name string) slog.Handler {
	// A group applies to the attributes that come after it only: the
	// pending ones go to the base handler first.
	return h.base.WithAttrs(h.attrs).WithGroup(name)
}
