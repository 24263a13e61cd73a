package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Directions accepted by Options.To.
const (
	// ToFlux turns Applications into Flux objects.
	ToFlux = "flux"
	// ToArgoCD turns Flux objects into Applications.
	ToArgoCD = "argocd"
)

// ErrUnmapped is returned in strict mode when some field does not map.
var ErrUnmapped = errors.New("some fields have no equivalent")

// Options tunes a conversion.
type Options struct {
	// To is ToFlux, ToArgoCD or empty to decide per object: Applications
	// go to Flux, Flux objects to Argo CD.
	To string
	// Strict makes any warning an error.
	Strict bool
	// FluxNamespace is where the Flux objects are written.
	FluxNamespace string
	// ArgoCDNamespace is where the Applications are written.
	ArgoCDNamespace string
	// Interval is the reconcile interval of the Kustomizations and
	// HelmReleases written.
	Interval time.Duration
	// SourceInterval is how often the sources written look for new
	// revisions.
	SourceInterval time.Duration
}

// Defaults returns the options `tether migrate` uses when no flag is set.
// Sources poll every 3 minutes because that is Argo CD's default refresh
// (timeout.reconciliation, 180s): a migrated app sees new commits as soon
// as it did before. The apply loop keeps Flux's customary 5 minutes.
func Defaults() Options {
	return Options{FluxNamespace: "flux-system", ArgoCDNamespace: "argocd",
		Interval: 5 * time.Minute, SourceInterval: 3 * time.Minute}
}

// Result is what a conversion produced.
type Result struct {
	// Objects are the objects written, in order.
	Objects []Object
	// Warnings lists every field that did not carry over as it was.
	Warnings []Warning
}

// Object is one object written, with a comment about where it came from.
type Object struct {
	// Comment is written above the object, one "# " line per line.
	Comment string
	// Value is the typed object.
	Value any
}

// WriteYAML writes the objects as a multi-document YAML stream that
// kubectl apply accepts. Status and empty creation timestamps are left
// out.
func (r *Result) WriteYAML(w io.Writer) error {
	var buf bytes.Buffer
	for i, o := range r.Objects {
		if i > 0 {
			buf.WriteString("---\n")
		}
		for _, line := range strings.Split(o.Comment, "\n") {
			if line != "" {
				buf.WriteString("# " + line + "\n")
			}
		}
		data, err := marshalObject(o.Value)
		if err != nil {
			return err
		}
		buf.Write(data)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func marshalObject(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	delete(m, "status")
	if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
		delete(m, "spec")
	}
	if meta, ok := m["metadata"].(map[string]any); ok && meta["creationTimestamp"] == nil {
		delete(meta, "creationTimestamp")
	}
	return yaml.Marshal(m)
}

// Convert turns the Applications in inputs into Flux objects and the
// Flux objects into Applications, as o says. It fails on input that
// cannot be read or names what is not there; fields that do not map are
// returned as warnings, and as ErrUnmapped as well when o.Strict is set.
func Convert(inputs []Input, o Options) (*Result, error) {
	if o.To != "" && o.To != ToFlux && o.To != ToArgoCD {
		return nil, fmt.Errorf("--to %q: want %q or %q", o.To, ToFlux, ToArgoCD)
	}
	docs, err := readDocuments(inputs)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var flux []*document
	for _, d := range docs {
		switch {
		case d.group() == "argoproj.io" && d.kind == "Application":
			if o.To == ToArgoCD {
				return nil, fmt.Errorf("%s: %s is already an Argo CD Application; leave out --to argocd to turn it into Flux objects", d.where, d.id())
			}
			if err := applicationToFlux(d, o, res); err != nil {
				return nil, err
			}
		case d.group() == "argoproj.io" && d.kind == "AppProject":
			res.Warnings = append(res.Warnings, Warning{Object: d.id(), Field: "(the whole object)",
				Message: "is not migrated: Flux has no projects; use namespaces and RBAC for tenancy"})
		case d.apiVersion == "v1" && d.kind == "Secret" && clusterSecret(d):
			res.Warnings = append(res.Warnings, Warning{Object: d.id(), Field: "(the whole object)",
				Message: "is an Argo CD cluster Secret and is not migrated: Flux reads a kubeconfig from the Secret named in spec.kubeConfig.secretRef"})
		case fluxKinds[d.kind] && strings.HasSuffix(d.group(), ".toolkit.fluxcd.io"), d.apiVersion == "v1" && d.kind == "Namespace":
			if o.To == ToFlux && d.kind != "Namespace" {
				return nil, fmt.Errorf("%s: %s is already a Flux object; leave out --to flux to turn it into an Application", d.where, d.id())
			}
			flux = append(flux, d)
		default:
			return nil, fmt.Errorf("%s: kind %q (apiVersion %q) is not migrated: want an Argo CD Application or Flux GitRepository, OCIRepository, HelmRepository, Kustomization or HelmRelease", d.where, d.kind, d.apiVersion)
		}
	}
	if err := fluxToApplications(flux, o, res); err != nil {
		return nil, err
	}
	if o.Strict && len(res.Warnings) > 0 {
		return res, fmt.Errorf("%w: %d field(s) do not map (--strict)", ErrUnmapped, len(res.Warnings))
	}
	return res, nil
}

// clusterSecret reports whether d is an Argo CD cluster Secret.
func clusterSecret(d *document) bool {
	labels, _ := lookupField(d.fields, "metadata", "labels").(map[string]any)
	return labels["argocd.argoproj.io/secret-type"] == "cluster"
}

// fluxKinds are the Flux kinds the reverse direction reads.
var fluxKinds = map[string]bool{"GitRepository": true, "OCIRepository": true, "HelmRepository": true,
	"Kustomization": true, "HelmRelease": true}

// NewCmd returns `migrate`.
func NewCmd() *cobra.Command {
	o := Defaults()
	var files []string
	cmd := &cobra.Command{
		Use:   "migrate -f FILE [-f FILE...]",
		Short: "Turn an Argo CD Application into Flux objects and back",
		Long: `Turn Argo CD Applications into the Flux objects that do the same work, or
Flux objects back into Applications, and say which fields do not carry over.

A Git directory becomes a GitRepository and a Kustomization; a chart from a
Helm repository a HelmRepository (type oci for oci:// URLs) and a
HelmRelease; a chart in a Git path (a source with a helm block) a
GitRepository and a HelmRelease. The output is YAML for kubectl apply on
standard output; every field that does not map is a warning on standard
error.

Differences worth knowing: Flux has no manual sync mode, so an Application
without automated sync becomes a suspended object; a Kustomization's
targetNamespace overrides namespaces the manifests set, where Argo CD's
destination namespace only fills in missing ones; a name in targetRevision
that is not a version is taken as a branch.`,
		Example: `  tether migrate -f guestbook.yaml | kubectl apply -f -
  tether migrate -f flux/ks.yaml -f flux/repo.yaml --to argocd
  cat app.yaml | tether migrate -f - --strict`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(files, o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&files, "filename", "f", nil, "file of YAML documents to migrate, - for standard input (repeatable)")
	f.StringVar(&o.To, "to", "", "direction: flux or argocd (default: Applications to flux, Flux objects to argocd)")
	f.BoolVar(&o.Strict, "strict", false, "fail, printing nothing, when any field does not map")
	f.StringVar(&o.FluxNamespace, "flux-namespace", o.FluxNamespace, "namespace of the Flux objects written")
	f.StringVar(&o.ArgoCDNamespace, "argocd-namespace", o.ArgoCDNamespace, "namespace of the Applications written")
	f.DurationVar(&o.Interval, "interval", o.Interval, "reconcile interval of the Kustomizations and HelmReleases written")
	f.DurationVar(&o.SourceInterval, "source-interval", o.SourceInterval, "poll interval of the sources written (Argo CD refreshes every 3m by default)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// Run reads files ("-" is stdin), converts them and writes the YAML to
// stdout and the warnings to stderr. In strict mode a warning prints
// nothing on stdout and fails.
func Run(files []string, o Options, stdin io.Reader, stdout, stderr io.Writer) error {
	inputs := make([]Input, 0, len(files))
	for _, name := range files {
		var data []byte
		var err error
		if name == "-" {
			data, err = io.ReadAll(stdin)
			name = "stdin"
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		inputs = append(inputs, Input{Name: name, Data: data})
	}
	res, err := Convert(inputs, o)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(stderr, w)
		}
	}
	if err != nil {
		return err
	}
	return res.WriteYAML(stdout)
}
