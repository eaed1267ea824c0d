package main

import (
	"fmt"
	"io"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the process logger: JSON by default (production), a
// human-readable console encoder on request. Library packages log through
// *slog.Logger; slogFor hands them a slog front end on the same zap core, so
// every line goes through one encoder, one level and one sink.
func newLogger(cfg LogConfig, out io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	var enc zapcore.Encoder
	switch cfg.Format {
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), zap.NewAtomicLevelAt(level))
	return zap.New(core, zap.AddCaller(), zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(out)))), nil
}

// slogFor returns a *slog.Logger that writes through log's core, named for
// the component ("sip", "media", …).
func slogFor(log *zap.Logger, component string) *slog.Logger {
	return slog.New(zapslog.NewHandler(log.Core(), zapslog.WithName(component), zapslog.WithCaller(true)))
}
