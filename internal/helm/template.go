package helm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/kube/fake"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

// TemplateOptions are the inputs of `helm template`.
type TemplateOptions struct {
	// ReleaseName is .Release.Name.
	ReleaseName string
	// Namespace is .Release.Namespace.
	Namespace string
	// Values are the user-supplied values (the chart's defaults apply
	// below them).
	Values map[string]any
	// IncludeCRDs adds the chart's crds/ folder to the output.
	IncludeCRDs bool
	// SkipTests leaves test hooks out.
	SkipTests bool
	// SkipSchemaValidation ignores values.schema.json.
	SkipSchemaValidation bool
	// KubeVersion is .Capabilities.KubeVersion ("v1.35.4"); "" uses Helm's
	// default.
	KubeVersion string
	// APIVersions are added to .Capabilities.APIVersions.
	APIVersions []string
}

// Template renders ch without a cluster, as `helm template` does, and
// returns the manifests (hooks included) as one YAML stream.
func Template(ctx context.Context, ch *Chart, opts TemplateOptions) (string, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	cfg.Releases = storage.Init(driver.NewMemory())
	cfg.KubeClient = &fake.PrintingKubeClient{Out: io.Discard}
	cfg.Capabilities = common.DefaultCapabilities.Copy()
	if opts.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(opts.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("%w: kube version '%s': %v", ErrInvalid, opts.KubeVersion, err)
		}
		cfg.Capabilities.KubeVersion = *kv
	}
	var kubeVersion *common.KubeVersion
	if opts.KubeVersion != "" {
		kubeVersion = &cfg.Capabilities.KubeVersion
	}
	in := action.NewInstall(cfg)
	in.DryRunStrategy = action.DryRunClient
	in.Replace = true
	in.ReleaseName = opts.ReleaseName
	in.Namespace = opts.Namespace
	in.IncludeCRDs = opts.IncludeCRDs
	in.SkipCRDs = !opts.IncludeCRDs
	in.SkipSchemaValidation = opts.SkipSchemaValidation
	in.APIVersions = common.VersionSet(opts.APIVersions)
	// Without a server, Helm starts from its default capabilities and
	// applies only Install.KubeVersion.
	in.KubeVersion = kubeVersion
	vals := opts.Values
	if vals == nil {
		vals = map[string]any{}
	}
	out, err := in.RunWithContext(ctx, ch, vals)
	if err != nil {
		return "", fmt.Errorf("%w: render chart '%s': %v", ErrInvalid, ch.Name(), err)
	}
	rel, ok := out.(*release.Release)
	if !ok {
		return "", fmt.Errorf("render chart '%s': unexpected release type %T", ch.Name(), out)
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(rel.Manifest))
	b.WriteString("\n")
	for _, h := range rel.Hooks {
		if opts.SkipTests && isTestHook(h) {
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return b.String(), nil
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}
