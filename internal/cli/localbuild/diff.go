package localbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/internal/cli/output"
	"github.com/tether-gitops/tether/internal/controller/kustomization"
	"github.com/tether-gitops/tether/internal/diff"
	"github.com/tether-gitops/tether/internal/engine"
	"github.com/tether-gitops/tether/internal/redact"
)

// ErrDifferences is returned by RunDiff when applying the folder would
// change the cluster; the command then exits with status 1, as Flux's
// does.
var ErrDifferences = errors.New("the local folder differs from the cluster")

// RunDiff renders opts.Path as Run does, compares the objects with the
// cluster as the Kustomization controller does before it applies, and
// prints what applying them would create, change or (when the
// Kustomization prunes) delete. It returns ErrDifferences when it printed
// anything.
func RunDiff(ctx context.Context, opts *Options) error {
	if opts.DryRun {
		return errors.New("diff compares with the cluster: --dry-run does not apply")
	}
	c, err := kube(opts)
	if err != nil {
		return err
	}
	b, err := build(ctx, opts, c)
	if err != nil {
		return err
	}
	eng, err := engine.New(c, kustomization.Owner(b.ks))
	if err != nil {
		return err
	}
	changes, err := eng.Diff(ctx, kustomization.InputsOf(b.objects), kustomization.ApplyOptions(b.ks))
	if err != nil {
		return b.secrets.Error(fmt.Errorf("dry run of %s against the cluster failed: %w", opts.Path, err))
	}
	deleted, err := kustomization.Pruned(b.ks, changes)
	if err != nil {
		return err
	}
	n, err := writeReport(opts.Out, changes, deleted, b.secrets)
	if err != nil {
		return err
	}
	switch {
	case n == 1:
		return fmt.Errorf("%w: 1 object would change", ErrDifferences)
	case n > 1:
		return fmt.Errorf("%w: %d objects would change", ErrDifferences, n)
	}
	return nil
}

// writeReport prints one line per object that would be created, changed
// or deleted, a unified diff under each changed one, and returns how many
// objects it named. Secret values are masked in every line.
func writeReport(w io.Writer, changes []engine.Change, deleted []engine.ObjectRef, m *redact.Values) (int, error) {
	var out strings.Builder
	n := 0
	for _, c := range changes {
		switch c.Action {
		case engine.ActionCreated:
			fmt.Fprintf(&out, "► %s created\n", c.Subject)
		case engine.ActionConfigured:
			fmt.Fprintf(&out, "► %s drifted\n", c.Subject)
			d, err := objectDiff(c.Subject, c.Live, c.Desired)
			if err != nil {
				return 0, err
			}
			out.WriteString(d)
		default:
			continue
		}
		n++
	}
	for _, r := range deleted {
		fmt.Fprintf(&out, "► %s deleted\n", r)
		n++
	}
	_, err := io.WriteString(w, m.String(out.String()))
	return n, err
}

// objectDiff is the unified diff of the live object and the predicted
// one, as YAML, Secret values masked alike in both.
func objectDiff(subject string, live, predicted *unstructured.Unstructured) (string, error) {
	if live == nil || predicted == nil {
		return "", nil
	}
	live, predicted = live.DeepCopy(), predicted.DeepCopy()
	diff.MaskSecrets(live, predicted)
	from, err := yaml.Marshal(live.Object)
	if err != nil {
		return "", fmt.Errorf("%s: %w", subject, err)
	}
	to, err := yaml.Marshal(predicted.Object)
	if err != nil {
		return "", fmt.Errorf("%s: %w", subject, err)
	}
	return output.UnifiedDiff(subject+" (cluster)", subject+" (local)", string(from), string(to))
}
