package application

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/helm"
	"github.com/tether-gitops/tether/internal/render"
	"github.com/tether-gitops/tether/internal/source/git"
)

// Helm sources are rendered as Argo CD renders them: `helm template` (no
// release is made), hooks mapped to Argo CD hooks, then synced by the
// engine like any other manifests.

// isHelmRepoSource reports whether src names a chart in a Helm repository
// or OCI registry (spec.source.chart), rather than a Git path.
func isHelmRepoSource(src argov1.ApplicationSource) bool { return src.Chart != "" }

// renderHelmRepo renders the chart src.chart at version
// src.targetRevision (exact or a semver range) from an HTTP repository or
// an OCI registry; the revision is the chart version.
func (r *Reconciler) renderHelmRepo(ctx context.Context, app *argov1.Application, src argov1.ApplicationSource, opts fetchOptions) (string, []render.Object, error) {
	auth, repoURL, identity, err := r.helmAuth(ctx, app, src.RepoURL)
	if err != nil {
		return "", nil, err
	}
	if src.Helm != nil && src.Helm.PassCredentials {
		auth.PassCredentials = true
	}
	var version string
	var data []byte
	if helm.IsOCI(repoURL) {
		version, err = r.Helm.ResolveOCI(ctx, repoURL, src.Chart, src.TargetRevision, auth)
		if err != nil {
			return "", nil, fmt.Errorf("chart %s from %s: %w", src.Chart, src.RepoURL, err)
		}
		data, err = r.helmCharts.get(repoURL+"|"+src.Chart+"|"+version+"|"+identity, func() ([]byte, error) {
			c, err := r.Helm.PullOCI(ctx, repoURL, src.Chart, version, auth)
			if err != nil {
				return nil, err
			}
			return c.Data, nil
		})
	} else {
		var idx *helm.Index
		idx, err = r.helmIndexes.index(ctx, r.Helm, repoURL+"|"+identity, repoURL, auth, opts.hard, r.ResyncPeriod)
		if err != nil {
			return "", nil, fmt.Errorf("Helm repository %s: %w", src.RepoURL, err)
		}
		cv, ferr := idx.Find(src.Chart, src.TargetRevision)
		if ferr != nil {
			return "", nil, fmt.Errorf("Helm repository %s: %w", src.RepoURL, ferr)
		}
		version = cv.Version
		data, err = r.helmCharts.get(repoURL+"|"+src.Chart+"|"+version+"|"+identity, func() ([]byte, error) {
			return r.Helm.DownloadChart(ctx, repoURL, cv, auth)
		})
	}
	if err != nil {
		return "", nil, fmt.Errorf("chart %s %s from %s: %w", src.Chart, version, src.RepoURL, err)
	}
	ch, err := helm.LoadArchive(data)
	if err != nil {
		return "", nil, fmt.Errorf("chart %s %s: %w", src.Chart, version, err)
	}
	objs, err := r.renderChart(ctx, app, src, ch, func(name string) ([]byte, error) {
		if d := helm.ChartFile(ch, name); d != nil {
			return d, nil
		}
		return nil, fs.ErrNotExist
	})
	return version, objs, err
}

// renderHelmDir renders the chart at src.path of a Git checkout.
func (r *Reconciler) renderHelmDir(ctx context.Context, app *argov1.Application, src argov1.ApplicationSource, dir string) ([]render.Object, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	chartPath := src.Path
	if chartPath == "" {
		chartPath = "."
	}
	ch, err := helm.LoadDir(root, chartPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", displayPath(src.Path), err)
	}
	if err := helm.CheckDependencies(ch); err != nil {
		return nil, fmt.Errorf("%s: %w", displayPath(src.Path), err)
	}
	return r.renderChart(ctx, app, src, ch, func(name string) ([]byte, error) {
		// Value files are relative to the chart's folder and read through
		// the checkout's root: they cannot leave it.
		return root.ReadFile(path.Join(path.Clean(strings.TrimPrefix(chartPath, "./")), name))
	})
}

// hasChart reports whether the checkout holds a Chart.yaml at path.
func hasChart(root, p string) bool {
	r, err := os.OpenRoot(root)
	if err != nil {
		return false
	}
	defer r.Close()
	if p == "" {
		p = "."
	}
	fi, err := r.Stat(path.Join(p, "Chart.yaml"))
	return err == nil && fi.Mode().IsRegular()
}

// renderChart composes the values Argo CD passes to helm template (value
// files in order, then values or valuesObject, then parameters and file
// parameters) and renders ch. read reads a file relative to the chart.
func (r *Reconciler) renderChart(ctx context.Context, app *argov1.Application, src argov1.ApplicationSource, ch *helm.Chart, read func(string) ([]byte, error)) ([]render.Object, error) {
	h := src.Helm
	if h == nil {
		h = &argov1.ApplicationSourceHelm{}
	}
	values := map[string]any{}
	for i, f := range h.ValueFiles {
		if strings.HasPrefix(f, "$") || strings.Contains(f, "://") {
			return nil, fmt.Errorf("spec.source.helm.valueFiles[%d]: %q: value files from other sources or URLs are not supported", i, f)
		}
		data, err := read(f)
		if err != nil {
			if h.IgnoreMissingValueFiles {
				continue
			}
			return nil, fmt.Errorf("spec.source.helm.valueFiles[%d]: %q: not found in the chart", i, f)
		}
		var vals map[string]any
		if err := yaml.Unmarshal(data, &vals); err != nil {
			return nil, fmt.Errorf("spec.source.helm.valueFiles[%d]: %q: %v", i, f, err)
		}
		values = helm.MergeMaps(values, vals)
	}
	switch {
	case h.ValuesObject != nil && len(h.ValuesObject.Raw) > 0:
		var vals map[string]any
		if err := json.Unmarshal(h.ValuesObject.Raw, &vals); err != nil {
			return nil, fmt.Errorf("spec.source.helm.valuesObject: %v", err)
		}
		values = helm.MergeMaps(values, vals)
	case strings.TrimSpace(h.Values) != "":
		var vals map[string]any
		if err := yaml.Unmarshal([]byte(h.Values), &vals); err != nil {
			return nil, fmt.Errorf("spec.source.helm.values: %v", err)
		}
		values = helm.MergeMaps(values, vals)
	}
	for i, p := range h.Parameters {
		if err := helm.SetValue(values, p.Name, escapeCommas(p.Value), p.ForceString); err != nil {
			return nil, fmt.Errorf("spec.source.helm.parameters[%d] (%s): %v", i, p.Name, err)
		}
	}
	for i, p := range h.FileParameters {
		data, err := read(p.Path)
		if err != nil {
			return nil, fmt.Errorf("spec.source.helm.fileParameters[%d]: %q: not found in the chart", i, p.Path)
		}
		if err := helm.SetFile(values, p.Name, data); err != nil {
			return nil, fmt.Errorf("spec.source.helm.fileParameters[%d] (%s): %v", i, p.Name, err)
		}
	}
	release := h.ReleaseName
	if release == "" {
		release = app.Name
	}
	ns := h.Namespace
	if ns == "" {
		ns = app.Spec.Destination.Namespace
	}
	kubeVersion, apiVersions, err := r.helmCapabilities(ctx, app, src.Helm)
	if err != nil {
		return nil, err
	}
	manifest, err := helm.Template(ctx, ch, helm.TemplateOptions{
		ReleaseName:          release,
		Namespace:            ns,
		Values:               values,
		IncludeCRDs:          !h.SkipCrds,
		SkipTests:            h.SkipTests,
		SkipSchemaValidation: h.SkipSchemaValidation,
		KubeVersion:          kubeVersion,
		APIVersions:          apiVersions,
	})
	if err != nil {
		return nil, err
	}
	objs, err := helm.Objects(manifest)
	if err != nil {
		return nil, err
	}
	out := make([]render.Object, len(objs))
	for i, o := range objs {
		out[i] = render.Object{Obj: o.Obj, Source: o.Source}
	}
	return argoHooks(out), nil
}

// Helm hook annotations.
const (
	helmHook             = "helm.sh/hook"
	helmHookWeight       = "helm.sh/hook-weight"
	helmHookDeletePolicy = "helm.sh/hook-delete-policy"
	helmResourcePolicy   = "helm.sh/resource-policy"
)

// argoHooks maps Helm hooks to Argo CD's, as Argo CD does in every kind
// of source (a chart, a plain folder, a Kustomize build): pre-install and
// pre-upgrade run as PreSync, post-install and post-upgrade as PostSync,
// crd-install objects are ordinary objects; other hooks (tests, deletion
// and rollback hooks) are left out. An object that carries an Argo CD hook
// annotation keeps it and its Helm hook annotations are ignored.
// helm.sh/resource-policy: keep becomes Delete=false. Objects that change
// are copied first, so the input is left as it was.
func argoHooks(objs []render.Object) []render.Object {
	out := make([]render.Object, 0, len(objs))
	for _, o := range objs {
		ann := o.Obj.GetAnnotations()
		if _, isHook := ann[helmHook]; !isHook && ann[helmResourcePolicy] != "keep" {
			out = append(out, o)
			continue
		}
		o.Obj = o.Obj.DeepCopy()
		ann = o.Obj.GetAnnotations()
		if ann[helmResourcePolicy] == "keep" {
			ann[argov1.AnnotationSyncOptions] = joinOption(ann[argov1.AnnotationSyncOptions], "Delete=false")
		}
		events, isHook := ann[helmHook]
		if _, argo := ann[argov1.AnnotationHook]; isHook && !argo {
			var types []string
			for e := range strings.SplitSeq(events, ",") {
				switch strings.TrimSpace(e) {
				case "pre-install", "pre-upgrade":
					types = appendOnce(types, string(argov1.HookTypePreSync))
				case "post-install", "post-upgrade":
					types = appendOnce(types, string(argov1.HookTypePostSync))
				case "crd-install":
					types = appendOnce(types, "")
				}
			}
			switch {
			case len(types) == 0:
				continue // a hook Argo CD does not run
			case len(types) == 1 && types[0] == "":
				// crd-install: an ordinary object
			default:
				ann[argov1.AnnotationHook] = strings.Join(deleteEmpty(types), ",")
				if p := helmDeletePolicies(ann[helmHookDeletePolicy]); p != "" {
					ann[argov1.AnnotationHookDeletePolicy] = p
				}
				if w, err := strconv.Atoi(strings.TrimSpace(ann[helmHookWeight])); err == nil {
					ann[argov1.AnnotationSyncWave] = strconv.Itoa(w)
				}
			}
		}
		o.Obj.SetAnnotations(ann)
		out = append(out, o)
	}
	return out
}

// escapeCommas escapes the commas of a parameter value, as Argo CD does
// before `helm --set`, so "a,b" stays one value; a "{a,b}" list is kept.
func escapeCommas(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	for i, r := range v {
		if r == ',' && (i == 0 || v[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func helmDeletePolicies(v string) string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		switch strings.TrimSpace(p) {
		case "before-hook-creation":
			out = append(out, "BeforeHookCreation")
		case "hook-succeeded":
			out = append(out, "HookSucceeded")
		case "hook-failed":
			out = append(out, "HookFailed")
		}
	}
	return strings.Join(out, ",")
}

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

func deleteEmpty(list []string) []string {
	out := list[:0]
	for _, v := range list {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func joinOption(list, opt string) string {
	if strings.TrimSpace(list) == "" {
		return opt
	}
	return list + "," + opt
}

// helmAuth reads the credentials of a Helm repository or registry from
// Argo CD's repository Secrets (type helm; enableOCI for a registry named
// without a scheme) and returns the URL to use ("oci://" added for OCI).
//
// The identity returned (the Secret and its version, "" when anonymous)
// keys the caches: an index or chart fetched with one project's
// credentials is never handed to an app that could not fetch it itself.
func (r *Reconciler) helmAuth(ctx context.Context, app *argov1.Application, repoURL string) (*helm.Auth, string, string, error) {
	lookup := strings.TrimPrefix(repoURL, "oci://")
	secret, err := r.repoSecret(ctx, app.Spec.Project, lookup)
	if err == nil && secret == nil && lookup != repoURL {
		secret, err = r.repoSecret(ctx, app.Spec.Project, repoURL)
	}
	if err != nil {
		return nil, "", "", err
	}
	auth := &helm.Auth{}
	url := repoURL
	if secret == nil {
		return auth, url, "", nil
	}
	identity := secret.Namespace + "/" + secret.Name + "@" + secret.ResourceVersion
	d := secret.Data
	auth.Username, auth.Password = string(d["username"]), string(d["password"])
	if string(d["enableOCI"]) == "true" && !helm.IsOCI(url) {
		url = "oci://" + url
	}
	auth.PlainHTTP = string(d["insecureOCIForceHttp"]) == "true" && helm.IsOCI(url)
	data := map[string][]byte{"tlsClientCertData": d["tlsClientCertData"], "tlsClientCertKey": d["tlsClientCertKey"]}
	if err := r.trustFor(ctx, strings.Replace(url, "oci://", "https://", 1), data); err != nil {
		return nil, "", "", err
	}
	tlsCfg, err := helmTLS(data, string(d["insecure"]) == "true")
	if err != nil {
		return nil, "", "", fmt.Errorf("repository secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	auth.TLS = tlsCfg
	return auth, url, identity, nil
}

// helmCharts caches downloaded chart archives by repository, chart and
// version, which never change once published.
type chartBytes struct {
	mu    sync.Mutex
	order []string
	data  map[string][]byte
}

const chartCacheSize = 64

func (c *chartBytes) get(key string, fetch func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if d, ok := c.data[key]; ok {
		c.mu.Unlock()
		return d, nil
	}
	c.mu.Unlock()
	d, err := fetch()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data == nil {
		c.data = map[string][]byte{}
	}
	if _, ok := c.data[key]; !ok {
		c.order = append(c.order, key)
		if len(c.order) > chartCacheSize {
			delete(c.data, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.data[key] = d
	return d, nil
}

// indexCache keeps fetched repository indexes for a while (Argo CD caches
// them too); a hard refresh fetches again.
type indexCache struct {
	mu      sync.Mutex
	entries map[string]cachedIndex
}

const indexCacheSize = 32

type cachedIndex struct {
	index *helm.Index
	at    time.Time
}

func (c *indexCache) index(ctx context.Context, client *helm.Client, key, url string, auth *helm.Auth, hard bool, ttl time.Duration) (*helm.Index, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && !hard && time.Since(e.at) < ttl {
		return e.index, nil
	}
	idx, err := client.FetchIndex(ctx, url, auth)
	if err != nil {
		return nil, err
	}
	idx.Raw = nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedIndex{}
	}
	// Indexes can be megabytes: keep a bounded number, dropping expired
	// ones first, then the oldest.
	for len(c.entries) >= indexCacheSize {
		oldest := ""
		for k, e := range c.entries {
			if oldest == "" || e.at.Before(c.entries[oldest].at) {
				oldest = k
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[key] = cachedIndex{index: idx, at: time.Now()}
	return idx, nil
}

// helmTLS builds the client TLS settings of a Helm repository: a CA from
// argocd-tls-certs-cm (put in data by trustFor), a client certificate from
// the repository Secret, or no verification when the Secret says insecure.
func helmTLS(data map[string][]byte, insecure bool) (*tls.Config, error) {
	ca, cert, key := data[git.KeyCACert], data["tlsClientCertData"], data["tlsClientCertKey"]
	if len(ca) == 0 && len(cert) == 0 && !insecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // the repository Secret asks for it
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("the CA in %s is not PEM", tlsCertsConfigMap)
		}
		cfg.RootCAs = pool
	}
	if len(cert) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("tlsClientCertData/tlsClientCertKey: invalid key pair")
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
