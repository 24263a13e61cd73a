package argo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/cli/output"
)

// specFlags are the flags of `app create` and `app set` that write the
// spec; only those the user gave are applied.
type specFlags struct {
	repo, path, revision, chart         string
	destServer, destName, destNamespace string
	project, syncPolicy                 string
	autoPrune, selfHeal, recurse        bool
	syncOptions, helmSets, valueFiles   []string
	releaseName, namePrefix             string
	images, labels                      []string
}

func (f *specFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.repo, "repo", "", "repository URL")
	fs.StringVar(&f.path, "path", "", "path in the repository")
	fs.StringVar(&f.revision, "revision", "", "target revision (branch, tag, commit or chart version)")
	fs.StringVar(&f.chart, "helm-chart", "", "Helm chart name (for a chart repository)")
	fs.StringVar(&f.destServer, "dest-server", "", "destination cluster URL")
	fs.StringVar(&f.destName, "dest-name", "", "destination cluster name")
	fs.StringVar(&f.destNamespace, "dest-namespace", "", "destination namespace")
	fs.StringVar(&f.project, "project", "", "project")
	fs.StringVar(&f.syncPolicy, "sync-policy", "", "sync policy: automated (auto) or none (manual)")
	fs.BoolVar(&f.autoPrune, "auto-prune", false, "prune when syncing automatically")
	fs.BoolVar(&f.selfHeal, "self-heal", false, "put back changes made on the cluster")
	fs.BoolVar(&f.recurse, "directory-recurse", false, "read sub-folders of a directory source")
	fs.StringArrayVar(&f.syncOptions, "sync-option", nil, "sync option such as CreateNamespace=true (repeat)")
	fs.StringArrayVar(&f.helmSets, "helm-set", nil, "Helm parameter NAME=VALUE (repeat)")
	fs.StringArrayVar(&f.valueFiles, "values", nil, "Helm values file in the repository (repeat)")
	fs.StringVar(&f.releaseName, "release-name", "", "Helm release name")
	fs.StringVar(&f.namePrefix, "nameprefix", "", "Kustomize name prefix")
	fs.StringArrayVar(&f.images, "kustomize-image", nil, "Kustomize image override (repeat)")
	fs.StringArrayVar(&f.labels, "label", nil, "label KEY=VALUE of the Application (repeat)")
}

// apply writes the given flags into app.
func (f *specFlags) apply(app *argov1.Application, fs *pflag.FlagSet) error {
	set := fs.Changed
	if app.Spec.Source == nil && len(app.Spec.Sources) == 0 {
		app.Spec.Source = &argov1.ApplicationSource{}
	}
	src := app.Spec.Source
	if src == nil {
		src = &app.Spec.Sources[0]
	}
	if set("repo") {
		src.RepoURL = f.repo
	}
	if set("path") {
		src.Path = f.path
	}
	if set("revision") {
		src.TargetRevision = f.revision
	}
	if set("helm-chart") {
		src.Chart = f.chart
	}
	if set("dest-server") {
		app.Spec.Destination.Server = f.destServer
	}
	if set("dest-name") {
		app.Spec.Destination.Name = f.destName
	}
	if set("dest-namespace") {
		app.Spec.Destination.Namespace = f.destNamespace
	}
	if set("project") {
		app.Spec.Project = f.project
	}
	if set("sync-policy") {
		switch f.syncPolicy {
		case "automated", "automatic", "auto":
			if app.Spec.SyncPolicy == nil {
				app.Spec.SyncPolicy = &argov1.SyncPolicy{}
			}
			if app.Spec.SyncPolicy.Automated == nil {
				app.Spec.SyncPolicy.Automated = &argov1.SyncPolicyAutomated{}
			}
		case "none", "manual":
			if app.Spec.SyncPolicy != nil {
				app.Spec.SyncPolicy.Automated = nil
			}
		default:
			return fmt.Errorf("--sync-policy %q: use automated or none", f.syncPolicy)
		}
	}
	if set("auto-prune") || set("self-heal") {
		if app.Spec.SyncPolicy == nil || app.Spec.SyncPolicy.Automated == nil {
			return fmt.Errorf("--auto-prune and --self-heal need --sync-policy automated")
		}
		if set("auto-prune") {
			app.Spec.SyncPolicy.Automated.Prune = f.autoPrune
		}
		if set("self-heal") {
			app.Spec.SyncPolicy.Automated.SelfHeal = f.selfHeal
		}
	}
	if set("sync-option") {
		if app.Spec.SyncPolicy == nil {
			app.Spec.SyncPolicy = &argov1.SyncPolicy{}
		}
		for _, o := range f.syncOptions {
			app.Spec.SyncPolicy.SyncOptions = setOption(app.Spec.SyncPolicy.SyncOptions, o)
		}
	}
	if set("directory-recurse") {
		if src.Directory == nil {
			src.Directory = &argov1.ApplicationSourceDirectory{}
		}
		src.Directory.Recurse = f.recurse
	}
	if set("helm-set") || set("values") || set("release-name") {
		if src.Helm == nil {
			src.Helm = &argov1.ApplicationSourceHelm{}
		}
		for _, p := range f.helmSets {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				return fmt.Errorf("--helm-set %q: want NAME=VALUE", p)
			}
			src.Helm.Parameters = setHelmParameter(src.Helm.Parameters, k, v)
		}
		if set("values") {
			src.Helm.ValueFiles = f.valueFiles
		}
		if set("release-name") {
			src.Helm.ReleaseName = f.releaseName
		}
	}
	if set("nameprefix") || set("kustomize-image") {
		if src.Kustomize == nil {
			src.Kustomize = &argov1.ApplicationSourceKustomize{}
		}
		if set("nameprefix") {
			src.Kustomize.NamePrefix = f.namePrefix
		}
		for _, img := range f.images {
			src.Kustomize.Images = append(src.Kustomize.Images, img)
		}
	}
	for _, l := range f.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("--label %q: want KEY=VALUE", l)
		}
		if app.Labels == nil {
			app.Labels = map[string]string{}
		}
		app.Labels[k] = v
	}
	return nil
}

// setOption replaces the option of the same key in opts, or adds it.
func setOption(opts []string, o string) []string {
	key, _, _ := strings.Cut(o, "=")
	for i, x := range opts {
		if k, _, _ := strings.Cut(x, "="); k == key {
			opts[i] = o
			return opts
		}
	}
	return append(opts, o)
}

func setHelmParameter(ps []argov1.HelmParameter, name, value string) []argov1.HelmParameter {
	for i := range ps {
		if ps[i].Name == name {
			ps[i].Value = value
			return ps
		}
	}
	return append(ps, argov1.HelmParameter{Name: name, Value: value})
}

func appCreate(conn *connect.Options) *cobra.Command {
	var f specFlags
	var file, out string
	var upsert bool
	cmd := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create an application from flags or a file",
		Args:  cobra.MaximumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		app := &argov1.Application{}
		if file != "" {
			read, err := readApplication(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			app = read
		}
		if len(args) == 1 {
			app.Name = appName(args[0])
		}
		if app.Name == "" {
			return fmt.Errorf("give the application a name (NAME or metadata.name in -f)")
		}
		if app.Namespace == "" {
			app.Namespace = conn.ArgoNamespace
		}
		if err := f.apply(app, cmd.Flags()); err != nil {
			return err
		}
		if app.Spec.Project == "" {
			app.Spec.Project = "default"
		}
		a, err := newApps(conn)
		if err != nil {
			return err
		}
		created, err := a.Create(cmd.Context(), app, upsert)
		if err != nil {
			return fmt.Errorf("create application %s: %w", app.Name, err)
		}
		return printWritten(cmd.OutOrStdout(), out, created, "created")
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVarP(&file, "file", "f", "", "Application manifest (YAML or JSON; - for standard input)")
	cmd.Flags().BoolVar(&upsert, "upsert", false, "replace the application if it exists with a different spec")
	cmd.Flags().StringVarP(&out, "output", "o", "", "print the application: json or yaml (applies back with kubectl)")
	return cmd
}

func appSet(conn *connect.Options) *cobra.Command {
	var f specFlags
	var out string
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Change an application's spec",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, app, err := getApp(cmd, conn, args[0], "")
		if err != nil {
			return err
		}
		if err := f.apply(app, cmd.Flags()); err != nil {
			return err
		}
		updated, err := a.Update(cmd.Context(), app)
		if err != nil {
			return fmt.Errorf("update application %s: %w", app.Name, err)
		}
		return printWritten(cmd.OutOrStdout(), out, updated, "updated")
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVarP(&out, "output", "o", "", "print the application: json or yaml (applies back with kubectl)")
	return cmd
}

// printWritten reports a created or updated app, or prints it as a
// manifest kubectl applies back.
func printWritten(w io.Writer, format string, app *argov1.Application, verb string) error {
	if format == "" {
		_, err := fmt.Fprintf(w, "application '%s' %s\n", app.Name, verb)
		return err
	}
	manifestOf(app, false)
	return output.Object(w, format, app)
}

// readApplication reads one Application from a file or standard input.
func readApplication(file string, stdin io.Reader) (*argov1.Application, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 8<<20))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var app argov1.Application
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	if err := dec.Decode(&app); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if app.Kind != "" && app.Kind != "Application" {
		return nil, fmt.Errorf("read %s: kind is %s, want Application", file, app.Kind)
	}
	app.TypeMeta = metav1.TypeMeta{}
	return &app, nil
}

// jsonToYAML turns one JSON document into YAML.
func jsonToYAML(doc string) ([]byte, error) {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	return yaml.Marshal(v)
}
