package livecache

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func object(labels, annotations map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace("apps")
	u.SetName("settings")
	u.SetResourceVersion("42")
	u.SetLabels(labels)
	u.SetAnnotations(annotations)
	u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "u1"}})
	u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl"}})
	u.Object["data"] = map[string]any{"password": "s3cret"}
	return u
}

func TestTransform(t *testing.T) {
	c := &Cache{opts: Options{Markers: []Marker{{Label: "kustomize.toolkit.fluxcd.io/name"}, {Annotation: "argocd.argoproj.io/tracking-id"}}}}
	tests := []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		whole       bool
	}{
		{"flux label", map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps"}, nil, true},
		{"argo tracking annotation", nil, map[string]string{"argocd.argoproj.io/tracking-id": "guestbook:/ConfigMap:apps/settings"}, true},
		{"annotation named like the label", nil, map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps"}, false},
		{"nobody's", map[string]string{"app": "x"}, map[string]string{"note": "y"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.transform(object(tt.labels, tt.annotations))
			if err != nil {
				t.Fatal(err)
			}
			u := out.(*unstructured.Unstructured)
			if len(u.GetManagedFields()) != 0 {
				t.Errorf("managedFields kept: %v", u.GetManagedFields())
			}
			if IsStub(u) == tt.whole {
				t.Fatalf("stub = %v, want %v", IsStub(u), !tt.whole)
			}
			if u.GetName() != "settings" || u.GetNamespace() != "apps" || u.GetResourceVersion() != "42" || len(u.GetOwnerReferences()) != 1 {
				t.Errorf("identity lost: %v", u.Object)
			}
			_, hasData := u.Object["data"]
			if hasData != tt.whole {
				t.Errorf("data kept = %v, want %v", hasData, tt.whole)
			}
			if !tt.whole && len(u.GetLabels()) != 0 {
				t.Errorf("a stub keeps labels: %v", u.GetLabels())
			}
		})
	}
}

func TestMemo(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &Cache{opts: Options{MemoTTL: time.Minute, WriteTTL: 10 * time.Second}, now: func() time.Time { return now },
		memo: map[objectKey]memos{}, writes: map[objectKey]writeEntry{}}
	obj := object(nil, nil)
	c.Remember("local|mgr", obj, "d1", "42")
	for _, tt := range []struct {
		name                 string
		identity, digest, rv string
		want                 bool
	}{
		{"same", "local|mgr", "d1", "42", true},
		{"desired changed", "local|mgr", "d2", "42", false},
		{"live changed", "local|mgr", "d1", "43", false},
		{"another identity", "local|sa:team/deployer|mgr", "d1", "42", false},
		{"nothing live", "local|mgr", "d1", "", false},
	} {
		if got := c.Unchanged(tt.identity, obj, tt.digest, tt.rv); got != tt.want {
			t.Errorf("%s: Unchanged = %v, want %v", tt.name, got, tt.want)
		}
	}
	now = now.Add(2 * time.Minute)
	if c.Unchanged("local|mgr", obj, "d1", "42") {
		t.Error("a prediction older than MemoTTL is trusted")
	}
	c.Remember("local|mgr", obj, "d1", "42")
	c.deleted(obj)
	if c.Unchanged("local|mgr", obj, "d1", "42") {
		t.Error("a prediction for a deleted object is trusted")
	}

	c.Wrote(obj)
	if !c.writePending(obj, "41") {
		t.Error("a write the cache has not seen is not pending")
	}
	if c.writePending(obj, "42") {
		t.Error("a write the cache has seen is still pending")
	}
	c.Wrote(obj)
	if c.writePending(obj, "43") {
		t.Error("a write the cache has seen a later version of is still pending")
	}
	c.Wrote(obj)
	if !c.writePending(obj, "abc") {
		t.Error("a version that is not an etcd revision counted as newer")
	}
	now = now.Add(11 * time.Second)
	if c.writePending(obj, "41") {
		t.Error("a write older than WriteTTL is still pending")
	}
}

func TestAbsentPredictions(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &Cache{opts: Options{MemoTTL: time.Hour, WriteTTL: 10 * time.Second}, now: func() time.Time { return now },
		memo: map[objectKey]memos{}, writes: map[objectKey]writeEntry{}}
	desired := object(nil, nil)
	predicted := object(nil, nil)
	predicted.SetUID("predicted")
	predicted.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "tether", Operation: metav1.ManagedFieldsOperationApply}})
	c.RememberAbsent("local|mgr", desired, "d1", predicted)
	got := c.PredictedAbsent("local|mgr", desired, "d1")
	if got == nil || got.GetUID() != "predicted" {
		t.Fatalf("PredictedAbsent = %v", got)
	}
	if len(got.GetManagedFields()) != 0 {
		t.Error("a remembered prediction keeps its managedFields")
	}
	if len(predicted.GetManagedFields()) != 1 {
		t.Error("RememberAbsent changed the caller's object")
	}
	got.SetUID("changed by the caller")
	if c.PredictedAbsent("local|mgr", desired, "d1").GetUID() != "predicted" {
		t.Error("the remembered prediction is shared with a caller")
	}
	if c.PredictedAbsent("local|mgr", desired, "d2") != nil || c.PredictedAbsent("other", desired, "d1") != nil {
		t.Error("a prediction is handed out for another desired object or identity")
	}
	if c.Unchanged("local|mgr", desired, "d1", "") || c.Unchanged("local|mgr", desired, "d1", "42") {
		t.Error("a prediction for a missing object says a live one is unchanged")
	}
	now = now.Add(absentTTL + time.Second)
	if c.PredictedAbsent("local|mgr", desired, "d1") != nil {
		t.Error("a prediction for a missing object is trusted past absentTTL")
	}
	// Once written, the object's version replaces the prediction.
	c.RememberAbsent("local|mgr", desired, "d1", predicted)
	c.Remember("local|mgr", desired, "d1", "43")
	if c.PredictedAbsent("local|mgr", desired, "d1") != nil || !c.Unchanged("local|mgr", desired, "d1", "43") {
		t.Error("a write did not replace the prediction")
	}
}
