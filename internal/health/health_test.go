package health

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// load reads one fixture from testdata.
func load(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return obj
}

func TestAssess(t *testing.T) {
	tests := []struct {
		file    string
		status  Status
		message string
	}{
		// Deployment
		{"deployment-healthy.yaml", Healthy, ""},
		{"deployment-progressing.yaml", Progressing, "Waiting for rollout to finish: 1 of 2 updated replicas are available..."},
		{"deployment-updating.yaml", Progressing, "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."},
		{"deployment-old-replicas.yaml", Progressing, "Waiting for rollout to finish: 1 old replicas are pending termination..."},
		{"deployment-generation.yaml", Progressing, "Waiting for rollout to finish: observed deployment generation less than desired generation"},
		{"deployment-suspended.yaml", Suspended, "Deployment is paused"},
		{"deployment-degraded.yaml", Degraded, `Deployment "web" exceeded its progress deadline`},
		// StatefulSet
		{"statefulset-healthy.yaml", Healthy, "statefulset rolling update complete 3 pods at revision db-5f6..."},
		{"statefulset-progressing.yaml", Progressing, "Waiting for 2 pods to be ready..."},
		{"statefulset-rolling.yaml", Progressing, "waiting for statefulset rolling update to complete 1 pods at revision db-8a1..."},
		{"statefulset-generation.yaml", Progressing, "Waiting for statefulset spec update to be observed..."},
		{"statefulset-partition.yaml", Progressing, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."},
		{"statefulset-ondelete.yaml", Healthy, "statefulset has 2 ready pods"},
		// DaemonSet
		{"daemonset-healthy.yaml", Healthy, ""},
		{"daemonset-progressing.yaml", Progressing, `Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...`},
		{"daemonset-unavailable.yaml", Progressing, `Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...`},
		{"daemonset-generation.yaml", Progressing, "Waiting for rollout to finish: observed daemon set generation less than desired generation"},
		{"daemonset-ondelete.yaml", Healthy, "daemon set 1 out of 3 new pods have been updated"},
		// ReplicaSet
		{"replicaset-healthy.yaml", Healthy, ""},
		{"replicaset-progressing.yaml", Progressing, "Waiting for rollout to finish: 0 out of 2 new replicas are available..."},
		{"replicaset-degraded.yaml", Degraded, `pods "web-7d9-" is forbidden: exceeded quota: compute`},
		{"replicaset-generation.yaml", Progressing, "Waiting for rollout to finish: observed replica set generation less than desired generation"},
		// Pod
		{"pod-running-healthy.yaml", Healthy, ""},
		{"pod-running-not-ready.yaml", Progressing, ""},
		{"pod-running-restarted.yaml", Degraded, "readiness probe keeps failing"},
		{"pod-crashloop.yaml", Degraded, `back-off 2m40s restarting failed container=main pod=web-1_demo, secret "proxy-token" not found`},
		{"pod-imagepullbackoff.yaml", Degraded, `Back-off pulling image "does-not-exist:1"`},
		{"pod-pending.yaml", Progressing, "0/3 nodes are available"},
		{"pod-hook-backoff.yaml", Progressing, ""},
		{"pod-ignore-restart-policy-backoff.yaml", Degraded, `Back-off pulling image "worker:1"`},
		{"pod-ignore-restart-policy-ready.yaml", Healthy, ""},
		{"pod-running-restart-never.yaml", Progressing, ""},
		{"pod-succeeded.yaml", Healthy, ""},
		{"pod-failed-exit-code.yaml", Degraded, `container "main" failed with exit code 3`},
		{"pod-failed-oomkilled.yaml", Degraded, "OOMKilled"},
		{"pod-failed-message.yaml", Degraded, "The node was low on resource: memory."},
		{"pod-unknown.yaml", Unknown, "node unreachable"},
		// Service, Ingress, PersistentVolumeClaim
		{"service-clusterip.yaml", Healthy, ""},
		{"service-loadbalancer-pending.yaml", Progressing, ""},
		{"service-loadbalancer.yaml", Healthy, ""},
		{"ingress-healthy.yaml", Healthy, ""},
		{"ingress-progressing.yaml", Progressing, ""},
		{"ingress-extensions-healthy.yaml", Healthy, ""},
		{"pvc-bound.yaml", Healthy, ""},
		{"pvc-pending.yaml", Progressing, ""},
		{"pvc-lost.yaml", Degraded, ""},
		// Job
		{"job-running.yaml", Progressing, ""},
		{"job-failed.yaml", Degraded, "Job has reached the specified backoff limit"},
		{"job-complete.yaml", Healthy, "Reached expected number of succeeded pods"},
		{"job-suspended.yaml", Suspended, "Job suspended"},
		// HorizontalPodAutoscaler
		{"hpa-v2-healthy.yaml", Healthy, "recommended size matches current size"},
		{"hpa-v2-degraded.yaml", Degraded, "the HPA was unable to compute the replica count: failed to get cpu utilization"},
		{"hpa-v2-progressing.yaml", Progressing, "Waiting to Autoscale"},
		{"hpa-v1-no-annotation.yaml", Progressing, "Waiting to Autoscale"},
		{"hpa-v1-degraded-object-metric.yaml", Degraded, "unable to get metric sessions"},
		{"hpa-v1-healthy-toofew.yaml", Healthy, "the desired replica count is less than the minimum replica count"},
		// APIService
		{"apiservice-available.yaml", Healthy, "Passed: all checks passed"},
		{"apiservice-unavailable.yaml", Progressing, `MissingEndpoints: endpoints for service/metrics-server in "kube-system" have no addresses`},
		{"apiservice-new.yaml", Progressing, "Waiting to be processed"},
		// CustomResourceDefinition
		{"crd-established.yaml", Healthy, "CRD is healthy"},
		{"crd-names-rejected.yaml", Degraded, `CRD names have not been accepted: not all names are accepted`},
		{"crd-not-established.yaml", Degraded, "CRD is not established: the initial names are being installed"},
		{"crd-non-structural.yaml", Degraded, "Schema violations found: spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root"},
		{"crd-terminating.yaml", Progressing, "CRD is being terminated: CustomResource deletion is in progress"},
		{"crd-new.yaml", Progressing, "Status conditions not found"},
		// Argo Workflow
		{"workflow-running.yaml", Progressing, "step 2 of 3"},
		{"workflow-failed.yaml", Degraded, `child "build-123" failed`},
		// Deletion
		{"configmap-pending-deletion.yaml", Progressing, "Pending deletion"},
		{"job-hook-deleting.yaml", Healthy, "Reached expected number of succeeded pods"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			got, err := Assess(load(t, tt.file))
			if err != nil {
				t.Fatalf("Assess: %v", err)
			}
			if got == nil {
				t.Fatal("Assess returned no result")
			}
			if got.Status != tt.status || got.Message != tt.message {
				t.Errorf("got %s %q, want %s %q", got.Status, got.Message, tt.status, tt.message)
			}
		})
	}
}

func TestAssessNoRule(t *testing.T) {
	got, err := Assess(load(t, "configmap.yaml"))
	if err != nil || got != nil {
		t.Fatalf("got %+v, %v; want nil, nil", got, err)
	}
	widget := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w"},
	}}
	if got, err := Assess(widget); err != nil || got != nil {
		t.Fatalf("custom resource: got %+v, %v; want nil, nil", got, err)
	}
}

func TestAssessUnreadable(t *testing.T) {
	tests := []struct {
		name string
		obj  *unstructured.Unstructured
		want string
	}{
		{"unsupported version", load(t, "deployment-v1beta2.yaml"),
			`assess health of Deployment demo/old: unsupported apiVersion "apps/v1beta2"`},
		{"malformed status", &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "PersistentVolumeClaim",
			"metadata": map[string]any{"name": "data", "namespace": "demo"},
			"status":   map[string]any{"phase": map[string]any{"not": "a string"}},
		}}, "assess health of PersistentVolumeClaim demo/data: decode v1:"},
		{"bad hpa annotation", &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
			"metadata": map[string]any{"name": "web", "namespace": "demo",
				"annotations": map[string]any{hpaConditionsAnnotation: "{"}},
		}}, "assess health of HorizontalPodAutoscaler demo/web: parse annotation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Assess(tt.obj)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want prefix %q", err, tt.want)
			}
			if got == nil || got.Status != Unknown || got.Message != err.Error() {
				t.Errorf("result = %+v, want Unknown with the error as message", got)
			}
		})
	}
}

func TestWorst(t *testing.T) {
	tests := []struct {
		in   []Status
		want Status
	}{
		{nil, Healthy},
		{[]Status{Healthy}, Healthy},
		{[]Status{Healthy, Suspended}, Suspended},
		{[]Status{Progressing, Suspended}, Progressing},
		{[]Status{Missing, Progressing}, Missing},
		{[]Status{Degraded, Missing, Healthy}, Degraded},
		{[]Status{Unknown, Degraded}, Unknown},
		{[]Status{Healthy, Unknown, Suspended}, Unknown},
		{[]Status{"Bogus"}, Healthy},
		{[]Status{Suspended, "Bogus"}, Suspended},
	}
	for _, tt := range tests {
		if got := Worst(tt.in...); got != tt.want {
			t.Errorf("Worst(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
	// Every status is worse than all before it in Argo CD's order.
	for i := range order {
		for j := range order {
			want := order[max(i, j)]
			if got := Worst(order[i], order[j]); got != want {
				t.Errorf("Worst(%s, %s) = %s, want %s", order[i], order[j], got, want)
			}
		}
	}
}
