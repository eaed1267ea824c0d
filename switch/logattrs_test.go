package callswitch

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestWithAttrs(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want []map[string]any // the records written, in order
	}{
		{"attrs on every record", func(l *slog.Logger) {
			c := withAttrs(l, "call_sid", "CA1")
			c.Warn("one", "n", 1)
			c.Error("two")
		}, []map[string]any{
			{"msg": "one", "call_sid": "CA1", "n": 1.0, "level": "WARN"},
			{"msg": "two", "call_sid": "CA1", "level": "ERROR"},
		}},
		{"nested, and the parent logger unchanged", func(l *slog.Logger) {
			c := withAttrs(l, "call_sid", "CA1")
			leg := withAttrs(c, "sip_call_id", "abc@x")
			leg.Warn("leg")
			c.Warn("call")
		}, []map[string]any{
			{"msg": "leg", "call_sid": "CA1", "sip_call_id": "abc@x", "level": "WARN"},
			{"msg": "call", "call_sid": "CA1", "level": "WARN"},
		}},
		{"level honoured", func(l *slog.Logger) {
			withAttrs(l, "call_sid", "CA1").Info("below warn")
		}, nil},
		{"slog With and WithGroup on top", func(l *slog.Logger) {
			c := withAttrs(l, "call_sid", "CA1").With("extra", "x")
			c.Warn("with")
			c.WithGroup("g").Warn("grouped", "k", "v")
		}, []map[string]any{
			{"msg": "with", "call_sid": "CA1", "extra": "x", "level": "WARN"},
			{"msg": "grouped", "call_sid": "CA1", "extra": "x", "g": map[string]any{"k": "v"}, "level": "WARN"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
				Level: slog.LevelWarn,
				ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey && len(groups) == 0 {
						return slog.Attr{}
					}
					return a
				},
			}))
			tt.log(l)
			dec := json.NewDecoder(&buf)
			var got []map[string]any
			for dec.More() {
				var m map[string]any
				if err := dec.Decode(&m); err != nil {
					t.Fatal(err)
				}
				got = append(got, m)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d records, want %d: %v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, _ := json.Marshal(got[i])
				w, _ := json.Marshal(tt.want[i])
				if !bytes.Equal(g, w) {
					t.Errorf("record %d = %s, want %s", i, g, w)
				}
			}
		})
	}
}
