package flux

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-gitops/tether/internal/cli/connect"
)

// maxLogLine bounds one log line read.
const maxLogLine = 1 << 20

// logFilter picks Tether's log lines about one object (or all when the
// fields are empty).
type logFilter struct {
	kind, namespace, name string
	level                 string
}

// logLine is what the filter reads of one JSON log line: the fields
// controller-runtime, the progress logger and the event recorder set.
type logLine struct {
	Time           string `json:"time"`
	Level          string `json:"level"`
	Msg            string `json:"msg"`
	Error          string `json:"error"`
	ControllerKind string `json:"controllerKind"`
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	// App is the progress logger's Kind/namespace/name.
	App string `json:"app"`
	// Object is the progress logger's Kind/namespace/name of the object
	// acted on, or the event recorder's {name, namespace} of Kind.
	Object json.RawMessage `json:"object"`
	Kind   string          `json:"kind"`
	Note   string          `json:"note"`
}

// eventObject is the event recorder's object.
type eventObject struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// subject returns the Kind/namespace/name the line is about, if any.
func (l *logLine) subject() (string, string, string) {
	switch {
	case l.ControllerKind != "" && l.Name != "":
		return l.ControllerKind, l.Namespace, l.Name
	case l.App != "":
		parts := strings.SplitN(l.App, "/", 3)
		if len(parts) == 3 {
			return parts[0], parts[1], parts[2]
		}
	case l.Kind != "":
		var o eventObject
		if json.Unmarshal(l.Object, &o) == nil && o.Name != "" {
			return l.Kind, o.Namespace, o.Name
		}
	}
	return "", "", ""
}

// format turns a JSON line into the printed one when it passes f; ok is
// false when it does not.
func (f logFilter) format(raw []byte) (string, bool) {
	var l logLine
	if err := json.Unmarshal(raw, &l); err != nil {
		return "", false
	}
	kind, ns, name := l.subject()
	if f.kind != "" && !strings.EqualFold(kind, f.kind) || f.name != "" && name != f.name || f.namespace != "" && ns != f.namespace {
		return "", false
	}
	level := strings.ToLower(l.Level)
	if strings.HasPrefix(level, "debug") {
		level = "debug"
	}
	if f.level != "" && level != strings.ToLower(f.level) {
		return "", false
	}
	msg := l.Msg
	var acted string
	if l.App != "" && json.Unmarshal(l.Object, &acted) == nil && acted != "" {
		msg = acted + ": " + msg
	}
	if l.Note != "" {
		msg += ": " + l.Note
	}
	if l.Error != "" {
		msg += ": " + l.Error
	}
	who := "-"
	if kind != "" {
		who = kind + "/" + ns + "/" + name
	}
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", "; ")
	return fmt.Sprintf("%s %s %s %s", l.Time, level, who, msg), true
}

// filter copies the lines of r that pass f to w.
func (f logFilter) filter(r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	for sc.Scan() {
		if line, ok := f.format(sc.Bytes()); ok {
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// NewLogsCmd returns `logs`: Tether's own log lines about one object,
// read from Tether's pods or from a saved log.
func NewLogsCmd(conn *connect.Options) *cobra.Command {
	fl := &flags{conn: conn}
	var f logFilter
	var file, tetherNamespace, selector string
	var follow bool
	var tail int64
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show Tether's log lines about one object (from its pods, or a saved log with --from-file)",
		Args:  cobra.NoArgs,
	}
	fl.addFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&f.kind, "kind", "", "only lines about this kind (Kustomization, HelmRelease, GitRepository, Application, ...)")
	fs.StringVar(&f.name, "name", "", "only lines about this name")
	fs.StringVar(&f.level, "level", "", "only lines of this level: debug, info or error")
	fs.StringVar(&file, "from-file", "", "read a saved log (JSON lines; - for standard input) instead of the pods")
	fs.StringVar(&tetherNamespace, "tether-namespace", "tether-system", "namespace of Tether's pods")
	fs.StringVar(&selector, "selector", "app.kubernetes.io/name=tether", "label selector of Tether's pods")
	fs.BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	fs.Int64Var(&tail, "tail", -1, "lines from the end of each pod's log (-1 for all)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if cmd.Flags().Changed("namespace") || f.name != "" {
			f.namespace = fl.namespace
		}
		w := cmd.OutOrStdout()
		switch file {
		case "":
		case "-":
			return f.filter(cmd.InOrStdin(), w)
		default:
			in, err := os.Open(file)
			if err != nil {
				return fmt.Errorf("read %s: %w", file, err)
			}
			defer in.Close()
			return f.filter(in, w)
		}
		cfg, err := conn.RESTConfig()
		if err != nil {
			return err
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		return podLogs(cmd.Context(), cs, tetherNamespace, selector, follow, tail, f, w)
	}
	return cmd
}

// podLogs filters the logs of Tether's pods, one pod after another (each
// followed at the same time with --follow).
func podLogs(ctx context.Context, cs kubernetes.Interface, ns, selector string, follow bool, tail int64, f logFilter, w io.Writer) error {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Errorf("list Tether's pods in %s: %w", ns, err)
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("no pod in namespace %s matches %s: pass --tether-namespace/--selector, or --from-file with a saved log", ns, selector)
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	opts := &corev1.PodLogOptions{Follow: follow}
	if tail >= 0 {
		opts.TailLines = &tail
	}
	errs := make(chan error, len(pods.Items))
	var out syncWriter
	out.w = w
	for _, p := range pods.Items {
		go func() {
			stream, err := cs.CoreV1().Pods(ns).GetLogs(p.Name, opts).Stream(ctx)
			if err != nil {
				errs <- fmt.Errorf("logs of pod %s: %w", p.Name, err)
				return
			}
			defer stream.Close()
			errs <- f.filter(stream, &out)
		}()
	}
	var first error
	for range pods.Items {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// syncWriter writes whole lines from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
