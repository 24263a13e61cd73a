package helm

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"helm.sh/helm/v4/pkg/kube"
)

var (
	deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	jobGVK        = schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}
)

// object is an unstructured object of gvk in namespace "ns" with fields
// merged in.
func object(gvk schema.GroupVersionKind, name string, generation int64, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range fields {
		u.Object[k] = v
	}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace("ns")
	u.SetName(name)
	u.SetUID(types.UID("uid-" + name))
	u.SetGeneration(generation)
	return u
}

func available(generation int64) map[string]any {
	return map[string]any{
		"spec": map[string]any{"replicas": int64(1)},
		"status": map[string]any{
			"observedGeneration": generation, "replicas": int64(1), "updatedReplicas": int64(1),
			"readyReplicas": int64(1), "availableReplicas": int64(1),
			"conditions": []any{map[string]any{"type": "Available", "status": "True"}},
		},
	}
}

func jobWith(condition string) map[string]any {
	st := map[string]any{"startTime": "2026-12-03T00:00:00Z"}
	if condition != "" {
		st["conditions"] = []any{map[string]any{"type": condition, "status": "True", "message": "backoff limit reached"}}
	}
	return map[string]any{"status": st}
}

// infos is what Helm hands a waiter: its own answers for the objects.
func infos(objs ...*unstructured.Unstructured) kube.ResourceList {
	var out kube.ResourceList
	for _, o := range objs {
		out = append(out, &resource.Info{Name: o.GetName(), Namespace: o.GetNamespace(), Object: o.DeepCopy(),
			Mapping: &meta.RESTMapping{GroupVersionKind: o.GroupVersionKind()}})
	}
	return out
}

func waiter(r client.Reader, notices chan struct{}) *observedWaiter {
	return &observedWaiter{ctx: context.Background(), observer: &Observer{
		Reader:  r,
		Changes: func() (<-chan struct{}, func()) { return notices, func() {} },
		Poll:    time.Hour, // only notices wake the wait
	}}
}

func TestObservedWait(t *testing.T) {
	tests := []struct {
		name string
		// live is what the reader holds; helm is what Helm's write answered.
		live, helm []*unstructured.Unstructured
		jobs       bool
		want       string // "" when the wait succeeds
	}{{
		name: "an available Deployment is ready",
		live: []*unstructured.Unstructured{object(deploymentGVK, "web", 2, available(2))},
		helm: []*unstructured.Unstructured{object(deploymentGVK, "web", 2, nil)},
	}, {
		name: "a Deployment the controller has not seen yet waits",
		live: []*unstructured.Unstructured{object(deploymentGVK, "web", 2, available(1))},
		helm: []*unstructured.Unstructured{object(deploymentGVK, "web", 2, nil)},
		want: "resource Deployment/ns/web not ready. status: InProgress",
	}, {
		name: "the cache's copy older than Helm's write is not trusted",
		live: []*unstructured.Unstructured{object(deploymentGVK, "web", 1, available(1))},
		helm: []*unstructured.Unstructured{object(deploymentGVK, "web", 2, nil)},
		want: "message: the change is not observed yet",
	}, {
		name: "a missing object waits",
		helm: []*unstructured.Unstructured{object(deploymentGVK, "web", 1, nil)},
		want: "resource Deployment/ns/web not ready. status: NotFound",
	}, {
		name: "a started Job is enough without waitForJobs",
		live: []*unstructured.Unstructured{object(jobGVK, "migrate", 1, jobWith(""))},
		helm: []*unstructured.Unstructured{object(jobGVK, "migrate", 1, nil)},
	}, {
		name: "with waitForJobs a running Job waits",
		live: []*unstructured.Unstructured{object(jobGVK, "migrate", 1, jobWith(""))},
		helm: []*unstructured.Unstructured{object(jobGVK, "migrate", 1, nil)},
		jobs: true,
		want: "resource Job/ns/migrate not ready. status: InProgress, message: Job in progress",
	}, {
		name: "with waitForJobs a complete Job is ready",
		live: []*unstructured.Unstructured{object(jobGVK, "migrate", 1, jobWith("Complete"))},
		helm: []*unstructured.Unstructured{object(jobGVK, "migrate", 1, nil)},
		jobs: true,
	}, {
		name: "a failed Job fails the wait",
		live: []*unstructured.Unstructured{object(jobGVK, "migrate", 1, jobWith("Failed"))},
		helm: []*unstructured.Unstructured{object(jobGVK, "migrate", 1, nil)},
		jobs: true,
		want: "resource Job/ns/migrate not ready. status: Failed, message: Job Failed: backoff limit reached",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fake.NewClientBuilder()
			for _, o := range tt.live {
				b = b.WithObjects(o)
			}
			w := waiter(b.Build(), make(chan struct{}))
			var err error
			if tt.jobs {
				err = w.WaitWithJobs(infos(tt.helm...), 200*time.Millisecond)
			} else {
				err = w.Wait(infos(tt.helm...), 200*time.Millisecond)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Wait: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Wait = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// A notice makes the wait read again at once: it does not poll.
func TestObservedWaitWakesOnNotice(t *testing.T) {
	live := object(deploymentGVK, "web", 2, available(1))
	c := fake.NewClientBuilder().WithObjects(live).Build()
	notices := make(chan struct{}, 1)
	w := waiter(c, notices)
	done := make(chan error, 1)
	go func() { done <- w.Wait(infos(object(deploymentGVK, "web", 2, nil)), time.Minute) }()
	select {
	case err := <-done:
		t.Fatalf("the wait ended before the Deployment was available: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	ready := object(deploymentGVK, "web", 2, available(2))
	got := live.DeepCopy()
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(live), got); err != nil {
		t.Fatal(err)
	}
	ready.SetResourceVersion(got.GetResourceVersion())
	if err := c.Status().Update(context.Background(), ready); err != nil {
		t.Fatal(err)
	}
	notices <- struct{}{}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait did not end on the notice")
	}
}
