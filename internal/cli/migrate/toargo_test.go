package migrate

import (
	"testing"
)

const gitRepo = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: repo, namespace: flux-system}
spec:
  interval: 3m
  url: https://example.com/repo.git
  ref: {branch: main}
`

func TestFluxToApplication(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		want     map[string]string
		warnings []string
	}{{
		name: "Kustomization and GitRepository",
		input: gitRepo + `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system, labels: {team: web}}
spec:
  interval: 5m
  path: ./deploy/web
  prune: true
  targetNamespace: web
  sourceRef: {kind: GitRepository, name: repo}
  namePrefix: pre-
  images: [{name: nginx, newTag: "1.25"}, {name: old, newName: new, digest: "sha256:abc"}]
  commonMetadata: {labels: {env: prod}}
  patches: [{patch: "- op: remove\n  path: /x", target: {kind: Deployment}}]
  components: [../c]
  healthChecks: [{apiVersion: apps/v1, kind: Deployment, name: web, namespace: web}]
`,
		want: map[string]string{
			"Application/web metadata.namespace": "argocd", "Application/web metadata.labels": "team: web",
			"Application/web spec.project":        "default",
			"Application/web spec.destination":    "namespace: web\nserver: https://kubernetes.default.svc",
			"Application/web spec.source.repoURL": "https://example.com/repo.git", "Application/web spec.source.targetRevision": "main",
			"Application/web spec.source.path":                   "deploy/web",
			"Application/web spec.source.kustomize.images":       "- nginx:1.25\n- old=new@sha256:abc",
			"Application/web spec.source.kustomize.commonLabels": "env: prod", "Application/web spec.source.kustomize.labelWithoutSelector": "true",
			"Application/web spec.source.kustomize.patches[0].target": "kind: Deployment",
			"Application/web spec.source.kustomize.components":        "- ../c",
			"Application/web spec.syncPolicy":                         "automated:\n  prune: true\n  selfHeal: true",
		},
		warnings: []string{"Kustomization flux-system/web: spec.healthChecks has no Argo CD equivalent"},
	}, {
		name: "suspended Kustomization on a remote cluster",
		input: gitRepo + `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10m
  path: ./
  suspend: true
  sourceRef: {kind: GitRepository, name: repo, namespace: flux-system}
  kubeConfig: {secretRef: {name: prod-kubeconfig}}
  dependsOn: [{name: infra}]
`,
		want: map[string]string{"Application/web spec.destination": "name: prod", "Application/web spec.syncPolicy": "<none>",
			"Application/web spec.source.path": "."},
		warnings: []string{
			"spec.interval is 10m0s",
			"spec.kubeConfig.secretRef names a remote cluster: written as destination.name prod",
			"spec.dependsOn has no Argo CD equivalent",
		},
	}, {
		name: "GitRepository fields without equivalent, and an unused source",
		input: `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: repo, namespace: flux-system}
spec:
  interval: 3m
  url: https://example.com/repo.git
  ref: {branch: main, commit: 0123456789abcdef0123456789abcdef01234567}
  secretRef: {name: creds}
  ignore: "/*"
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: unused, namespace: flux-system}
spec: {url: https://charts.example.com}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec: {interval: 5m, path: ./, prune: true, sourceRef: {kind: GitRepository, name: repo}}
`,
		want: map[string]string{"Application/web spec.source.targetRevision": "0123456789abcdef0123456789abcdef01234567"},
		warnings: []string{
			"GitRepository flux-system/repo: spec.ref.branch has no Argo CD equivalent",
			"GitRepository flux-system/repo: spec.secretRef names credentials",
			"GitRepository flux-system/repo: spec.ignore has no Argo CD equivalent",
			"HelmRepository flux-system/unused: (the whole object) is not used",
		},
	}, {
		name: "HelmRelease and HelmRepository",
		input: `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec: {interval: 3m, url: oci://ghcr.io/org/charts, type: oci}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: flux-system}
spec:
  interval: 5m
  targetNamespace: web
  chart: {spec: {chart: web, version: 1.x, sourceRef: {kind: HelmRepository, name: charts}}}
  values: {replicas: 2}
  valuesFrom: [{kind: ConfigMap, name: extra}]
  install: {createNamespace: true, crds: Skip, remediation: {retries: 3}}
  upgrade: {remediation: {retries: 3}}
`,
		want: map[string]string{
			"Application/web spec.source":     "chart: web\nhelm:\n  releaseName: web-web\n  skipCrds: true\n  valuesObject:\n    replicas: 2\nrepoURL: oci://ghcr.io/org/charts\ntargetRevision: 1.x",
			"Application/web spec.syncPolicy": "automated:\n  prune: true\nretry:\n  limit: 3\nsyncOptions:\n- CreateNamespace=true",
		},
		warnings: []string{"spec.valuesFrom has no Argo CD equivalent"},
	}, {
		name: "HelmRelease of a chart in Git",
		input: gitRepo + `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: flux-system}
spec:
  interval: 5m
  releaseName: web
  driftDetection: {mode: enabled}
  chart:
    spec:
      chart: ./charts/web
      reconcileStrategy: ChartVersion
      sourceRef: {kind: GitRepository, name: repo}
      valuesFiles: [charts/web/values.yaml, charts/web/prod.yaml, env/prod.yaml]
`,
		want: map[string]string{
			"Application/web spec.source":               "helm:\n  valueFiles:\n  - prod.yaml\n  - ../../env/prod.yaml\npath: charts/web\nrepoURL: https://example.com/repo.git\ntargetRevision: main",
			"Application/web spec.syncPolicy.automated": "prune: true\nselfHeal: true",
		},
		warnings: []string{"spec.chart.spec.reconcileStrategy is ChartVersion"},
	}, {
		name: "target namespace written as a Namespace",
		input: gitRepo + `---
apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {team: web}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec: {interval: 5m, path: ./, prune: true, targetNamespace: web, sourceRef: {kind: GitRepository, name: repo}}
`,
		want: map[string]string{
			"Application/web spec.syncPolicy.syncOptions":              "- CreateNamespace=true",
			"Application/web spec.syncPolicy.managedNamespaceMetadata": "labels:\n  team: web",
			"Namespace/other metadata.name":                            "other",
			"Namespace/web metadata.name":                              "<none>",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := convert(t, tt.input, Defaults())
			objs := rendered(t, res)
			if _, ok := tt.want["Namespace/web metadata.name"]; ok {
				if _, written := objs["Namespace/web"]; written {
					t.Errorf("Namespace web is passed through although it became CreateNamespace=true")
				}
				delete(tt.want, "Namespace/web metadata.name")
			}
			checkFields(t, objs, tt.want)
			checkWarnings(t, res, tt.warnings)
		})
	}
}
