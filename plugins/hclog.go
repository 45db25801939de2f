package plugins

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// LogKeyLogger is the slog key under which NewHCLogger records hclog's
// logger name, e.g. "backend.ocr.testbackend".
const LogKeyLogger = "logger"

// LevelTrace is the slog level hclog's Trace maps to.
const LevelTrace = slog.LevelDebug - 4

// NewHCLogger returns an hclog.Logger that writes to l, for go-plugin's
// ClientConfig.Logger: go-plugin logs through it, and so does every
// backend's stderr once go-plugin has parsed it. ctx is handed to l's
// handler with each record, for the values it carries; it does not end
// the logger.
func NewHCLogger(ctx context.Context, l *slog.Logger) hclog.Logger {
	return &hclogAdapter{ctx: ctx, base: l, l: l}
}

// hclogAdapter bridges hclog to slog. Levels are left to the slog handler;
// SetLevel is ignored so that one place, the handler, decides.
type hclogAdapter struct {
	ctx     context.Context
	base    *slog.Logger // as passed to NewHCLogger
	l       *slog.Logger // base with name and implied args
	name    string
	implied []any
}

func toSlogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return LevelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	a.l.Log(a.ctx, toSlogLevel(level), msg, args...)
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hclogAdapter) enabled(level hclog.Level) bool {
	return a.l.Enabled(a.ctx, toSlogLevel(level))
}

func (a *hclogAdapter) IsTrace() bool { return a.enabled(hclog.Trace) }
func (a *hclogAdapter) IsDebug() bool { return a.enabled(hclog.Debug) }
func (a *hclogAdapter) IsInfo() bool  { return a.enabled(hclog.Info) }
func (a *hclogAdapter) IsWarn() bool  { return a.enabled(hclog.Warn) }
func (a *hclogAdapter) IsError() bool { return a.enabled(hclog.Error) }

func (a *hclogAdapter) ImpliedArgs() []any { return a.implied }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	return a.derive(a.name, append(append([]any(nil), a.implied...), args...))
}

func (a *hclogAdapter) Name() string { return a.name }

func (a *hclogAdapter) Named(name string) hclog.Logger {
	if a.name != "" {
		name = a.name + "." + name
	}
	return a.derive(name, a.implied)
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return a.derive(name, a.implied)
}

// derive rebuilds from the unnamed base logger, so that a chain of Named
// calls yields one logger attribute, not one per call.
func (a *hclogAdapter) derive(name string, implied []any) *hclogAdapter {
	l := a.base
	if name != "" {
		l = l.With(LogKeyLogger, name)
	}
	if len(implied) > 0 {
		l = l.With(implied...)
	}
	return &hclogAdapter{ctx: a.ctx, base: a.base, l: l, name: name, implied: implied}
}

func (a *hclogAdapter) SetLevel(hclog.Level) {}

func (a *hclogAdapter) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if a.enabled(lv) {
			return lv
		}
	}
	return hclog.Off
}

func (a *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(a.l.Handler(), slog.LevelInfo)
}

func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return a.StandardLogger(nil).Writer()
}
