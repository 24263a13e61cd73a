// Package output prints what CLI commands answer: objects as JSON or YAML
// that `kubectl apply` takes back, tables, and progress lines that are
// redrawn on a terminal and plain elsewhere.
package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"golang.org/x/term"
	"sigs.k8s.io/yaml"
)

// Object prints v as "json" or "yaml".
func Object(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	return fmt.Errorf("unknown output format %q: use json or yaml", format)
}

// Objects prints items as one JSON array or as YAML documents.
func Objects[T any](w io.Writer, format string, items []T) error {
	if format == "json" {
		if items == nil {
			items = []T{}
		}
		return Object(w, format, items)
	}
	for i := range items {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if err := Object(w, format, items[i]); err != nil {
			return err
		}
	}
	return nil
}

// Table prints rows under header, aligned.
func Table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(header) > 0 {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Progress reports long work: a line per object whenever what it says
// about that object changes, and on a terminal one status line at the
// bottom, redrawn in place.
type Progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	last   map[string]string
	status string
}

// NewProgress writes to w (usually standard error).
func NewProgress(w io.Writer) *Progress {
	return &Progress{w: w, tty: IsTerminal(w), last: map[string]string{}}
}

// Line prints text for key unless it said the same last time.
func (p *Progress) Line(key, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last[key] == text {
		return
	}
	p.last[key] = text
	p.clearStatus()
	fmt.Fprintln(p.w, text)
	p.drawStatus()
}

// Status shows text as the status line on a terminal; elsewhere it is a
// line like the others, printed when it changes.
func (p *Progress) Status(text string) {
	if !p.tty {
		p.Line("\x00status", text)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearStatus()
	p.status = text
	p.drawStatus()
}

// Done removes the status line.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearStatus()
	p.status = ""
}

func (p *Progress) clearStatus() {
	if p.tty && p.status != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *Progress) drawStatus() {
	if p.tty && p.status != "" {
		fmt.Fprint(p.w, p.status)
	}
}

// ExitError is an error that asks main for an exit code other than 1.
type ExitError struct {
	// Code is the exit code.
	Code int
	// Err says why.
	Err error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the reason.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the exit code err asks for: 0 for nil, else 1 unless it
// carries another.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	return 1
}
