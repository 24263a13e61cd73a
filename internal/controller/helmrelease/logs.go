package helmrelease

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tether-gitops/tether/internal/redact"
)

// helmLogLines is how many of Helm's last log lines a warning event
// carries, as Flux's helm-controller does.
const helmLogLines = 10

// logBuffer is a slog.Handler that keeps the last few lines Helm logged
// during one reconcile, to explain a failed action in its event.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
	// secrets are masked in the message and the lines before either is
	// cut, so that no part of a value is left.
	secrets *redact.Values
}

func (b *logBuffer) Enabled(context.Context, slog.Level) bool { return true }

func (b *logBuffer) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&sb, " %s=%v", a.Key, a.Value)
		return true
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, sb.String())
	if len(b.lines) > helmLogLines {
		b.lines = b.lines[len(b.lines)-helmLogLines:]
	}
	return nil
}

func (b *logBuffer) WithAttrs([]slog.Attr) slog.Handler { return b }
func (b *logBuffer) WithGroup(string) slog.Handler      { return b }

// withLogs appends Helm's last log lines to an event message.
func (b *logBuffer) withLogs(msg string) string {
	if b == nil {
		return msg
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) == 0 {
		return msg
	}
	msg = b.secrets.String(msg)
	// Events hold 1,024 bytes: the message gets half, so that some of the
	// logs fit (the condition keeps the whole message).
	if len(msg) > 500 {
		cut := 497
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg + "\n\nLast Helm logs:\n\n" + b.secrets.String(strings.Join(b.lines, "\n"))
}
