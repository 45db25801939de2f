package plugins

import (
	"io"
	"log/slog"
	"strings"
)

// hclogTimeFormat is the timestamp layout go-plugin's host parses.
const hclogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// NewPluginLogger returns the slog logger a backend process logs with. It
// writes one JSON object per line in hclog's layout ("@level", "@message",
// "@timestamp"), which go-plugin on the host parses and re-logs through
// its own logger, so a backend's records reach the host's slog handler
// with their level and attributes intact. Pass os.Stderr.
func NewPluginLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format(hclogTimeFormat))
			case slog.LevelKey:
				return slog.String("@level", hclogLevelName(a.Value.Any()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

func hclogLevelName(v any) string {
	level, ok := v.(slog.Level)
	if !ok {
		return strings.ToLower(slog.AnyValue(v).String())
	}
	switch {
	case level < slog.LevelDebug:
		return "trace"
	case level < slog.LevelInfo:
		return "debug"
	case level < slog.LevelWarn:
		return "info"
	case level < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
