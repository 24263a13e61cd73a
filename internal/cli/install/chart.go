package install

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ChartDir is where the generated chart lives in the repository.
const ChartDir = "config/helm/tether"

// baseNamespace is the base install's namespace; the chart installs into
// the release's.
const baseNamespace = "tether-system"

// Placeholders set on the base's Deployment before it is written as YAML,
// replaced by template expressions after: the chart's knobs.
const (
	imageHolder     = "TETHER_CHART_IMAGE"
	replicasHolder  = "TETHER_CHART_REPLICAS"
	resourcesHolder = "TETHER_CHART_RESOURCES"
	argocdNSHolder  = "TETHER_CHART_ARGOCD_NAMESPACE"
	extraArgsHolder = "TETHER_CHART_EXTRA_ARGS"
)

// chartValues are the chart's values.yaml; its defaults render exactly
// the base install (see ChartFiles).
const chartValues = `# Values of Tether's chart. The chart is generated from config/install/base
# (make chart); with these defaults it renders the same objects as
# kubectl apply -k config/install/base, in the release's namespace.

image:
  repository: %s
  tag: %s

# replicas of the Deployment (leader election keeps one active).
replicas: %s

# argocdNamespace is where Tether reads Argo CD's Applications, AppProjects,
# cluster Secrets and settings.
argocdNamespace: %s

# resources of the tether container.
resources:
%s
# extraArgs are added to "tether run" (for example --url-rewrite=FROM=TO).
extraArgs: []
`

// ChartFiles generates Tether's Helm chart from the base install: the
// CRDs under crds/ (Helm installs them first and never deletes them), and
// every other object but the Namespace under templates/, in the release's
// namespace, with the Deployment's image, replicas, resources, Argo CD
// namespace and extra arguments as values. version is the chart's
// version and appVersion.
func ChartFiles(version string) (map[string][]byte, error) {
	objs, err := Manifests("base")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"Chart.yaml": []byte("apiVersion: v2\nname: tether\ndescription: Tether, a GitOps engine that runs Argo CD's and Flux's YAML\n" +
			"type: application\nversion: " + version + "\nappVersion: \"" + version + "\"\nhome: https://github.com/tether-gitops/tether\n"),
		"templates/NOTES.txt": []byte("Tether runs in {{ .Release.Namespace }}.\n" +
			"Check it with:  tether check --kubeconfig <your kubeconfig>\n" +
			"Its API and web UI: kubectl -n {{ .Release.Namespace }} port-forward svc/tether-server 8443:443\n"),
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace":
			continue
		case "CustomResourceDefinition":
			data, err := yaml.Marshal(o.Object)
			if err != nil {
				return nil, err
			}
			files["crds/"+o.GetName()+".yaml"] = data
			continue
		}
		o = o.DeepCopy()
		if o.GetKind() == "Deployment" && o.GetName() == "tether" {
			values, err := templateDeployment(o)
			if err != nil {
				return nil, err
			}
			files["values.yaml"] = values
		}
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("templates/%s-%s.yaml", strings.ToLower(o.GetKind()), o.GetName())
		files[name] = []byte(templated(string(data)))
	}
	if files["values.yaml"] == nil {
		return nil, fmt.Errorf("the base install has no Deployment tether")
	}
	return files, nil
}

// templateDeployment puts placeholders in the Deployment where the chart
// has values and returns values.yaml with the base's own as defaults.
func templateDeployment(d *unstructured.Unstructured) ([]byte, error) {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return nil, fmt.Errorf("the base Deployment has no container")
	}
	c := containers[0].(map[string]any)
	image, _ := c["image"].(string)
	repo, tag, ok := strings.Cut(image, ":")
	if !ok {
		return nil, fmt.Errorf("the base Deployment's image %q has no tag", image)
	}
	c["image"] = imageHolder
	resources, err := yaml.Marshal(c["resources"])
	if err != nil {
		return nil, err
	}
	c["resources"] = resourcesHolder
	argocdNS := ""
	args, _ := c["args"].([]any)
	for i, a := range args {
		if s, _ := a.(string); strings.HasPrefix(s, "--argocd-namespace=") {
			argocdNS = strings.TrimPrefix(s, "--argocd-namespace=")
			args[i] = "--argocd-namespace=" + argocdNSHolder
		}
	}
	c["args"] = append(args, extraArgsHolder)
	if err := unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return nil, err
	}
	replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	_ = unstructured.SetNestedField(d.Object, replicasHolder, "spec", "replicas")
	indented := "  " + strings.ReplaceAll(strings.TrimSpace(string(resources)), "\n", "\n  ") + "\n"
	return fmt.Appendf(nil, chartValues, repo, tag, fmt.Sprint(replicas), argocdNS, indented), nil
}

// holderLine matches a line whose value is a placeholder, with its
// indentation and key (or list dash).
var holderLine = regexp.MustCompile(`(?m)^( *)(- |[a-zA-Z]+: )(TETHER_CHART_[A-Z_]+)$`)

// templated replaces the base namespace and the placeholders of a
// written object with template expressions.
func templated(doc string) string {
	doc = strings.ReplaceAll(doc, baseNamespace, "{{ .Release.Namespace }}")
	doc = strings.ReplaceAll(doc, argocdNSHolder, "{{ .Values.argocdNamespace }}")
	return holderLine.ReplaceAllStringFunc(doc, func(line string) string {
		m := holderLine.FindStringSubmatch(line)
		indent, key, holder := m[1], m[2], m[3]
		switch holder {
		case imageHolder:
			return indent + key + `"{{ .Values.image.repository }}:{{ .Values.image.tag }}"`
		case replicasHolder:
			return indent + key + "{{ .Values.replicas }}"
		case resourcesHolder:
			return fmt.Sprintf("%s%s\n%s{{- toYaml .Values.resources | nindent %d }}", indent, strings.TrimSpace(key), indent, len(indent)+2)
		case extraArgsHolder:
			return fmt.Sprintf("%s{{- range .Values.extraArgs }}\n%s- {{ . | quote }}\n%s{{- end }}", indent, indent, indent)
		}
		return line
	})
}
