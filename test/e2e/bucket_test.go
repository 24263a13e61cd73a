package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/testenv"
)

// bucketConfigMap is a ConfigMap manifest named name with data a: value.
func bucketConfigMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {a: " + value + "}\n"
}

// TestBucketSource deploys a folder of manifests from an S3 bucket (a
// real S3 server on loopback that checks request signatures) through a
// Bucket written as v1beta2 and a Kustomization whose sourceRef is that
// Bucket; a changed object is a new revision that gets applied; with
// wrong keys the Bucket is Ready=False naming the Secret, keeps its
// artifact, and the Kustomization's objects stay; no message holds a key.
func TestBucketSource(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	s3 := testenv.NewS3Server(t)
	s3.CreateBucket(t, "manifests")
	s3.Put(t, "manifests", map[string]string{
		".sourceignore":        "/deploy/ignored/\n",
		"deploy/cm-a.yaml":     bucketConfigMap("bkt-a", "one"),
		"deploy/cm-b.yaml":     bucketConfigMap("bkt-b", "one"),
		"deploy/ignored/x.yml": "not: [valid",
		"other/cm-c.yaml":      bucketConfigMap("bkt-c", "outside the path"),
	})
	tether := startTether(t)
	objs := applyYAML(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: bucket-keys, namespace: flux-system}
stringData: {accesskey: %[2]s, secretkey: %[3]s}
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: Bucket
metadata: {name: bkt, namespace: flux-system}
spec: {interval: 2s, provider: generic, bucketName: manifests, endpoint: "%[1]s", insecure: true, secretRef: {name: bucket-keys}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: bkt, namespace: flux-system}
spec: {interval: 1m, path: ./deploy, prune: true, targetNamespace: default, sourceRef: {kind: Bucket, name: bkt}}
`, s3.Endpoint, s3.AccessKey, s3.SecretKey))
	t.Cleanup(func() {
		for _, o := range objs {
			_ = c.Delete(context.Background(), o)
		}
	})

	var applied *meta.Artifact
	t.Run("the bucket's objects are deployed", func(t *testing.T) {
		applied = waitBucketArtifact(t, c, "bkt", "")
		if !strings.HasPrefix(applied.Revision, "sha256:") || applied.Digest == "" || applied.URL == "" {
			t.Errorf("artifact %+v", applied)
		}
		waitKustomizationRevision(t, c, "bkt", applied.Revision)
		waitKustomization(t, c, "flux-system", "bkt", "True", 30*time.Second)
		waitConfigMapData(t, c, "bkt-a", "one")
		waitConfigMapData(t, c, "bkt-b", "one")
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "bkt-c"}, &cm); err == nil {
			t.Errorf("bkt-c, outside the Kustomization's path, was applied")
		}
	})

	t.Run("a changed object is a new revision, applied", func(t *testing.T) {
		s3.Put(t, "manifests", map[string]string{"deploy/cm-a.yaml": bucketConfigMap("bkt-a", "two")})
		next := waitBucketArtifact(t, c, "bkt", applied.Revision)
		waitKustomizationRevision(t, c, "bkt", next.Revision)
		waitConfigMapData(t, c, "bkt-a", "two")
		applied = next
	})

	t.Run("wrong keys: Ready=False, the last artifact and the objects stay", func(t *testing.T) {
		const wrong = "wrong-secret-key-value"
		var secret corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: "bucket-keys"}, &secret); err != nil {
			t.Fatal(err)
		}
		secret.Data["secretkey"] = []byte(wrong)
		if err := c.Update(ctx, &secret); err != nil {
			t.Fatal(err)
		}
		// An object change that must not reach the cluster.
		s3.Put(t, "manifests", map[string]string{"deploy/cm-a.yaml": bucketConfigMap("bkt-a", "three")})
		var b sourcev1.Bucket
		var ready *metav1.Condition
		eventually(t, 60*time.Second, "Bucket bkt Ready=False AuthenticationFailed", func(ctx context.Context) error {
			if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: "bkt"}, &b); err != nil {
				return err
			}
			ready = apimeta.FindStatusCondition(b.Status.Conditions, "Ready")
			if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != sourcev1.AuthenticationFailedReason {
				return fmt.Errorf("Ready %+v", ready)
			}
			return nil
		})
		t.Logf("Ready=False %s: %s", ready.Reason, ready.Message)
		for _, part := range []string{"bucket 'manifests'", s3.Endpoint, "refused the credentials", "secret 'flux-system/bucket-keys'"} {
			if !strings.Contains(ready.Message, part) {
				t.Errorf("message %q lacks %q", ready.Message, part)
			}
		}
		if f := apimeta.FindStatusCondition(b.Status.Conditions, sourcev1.FetchFailedCondition); f == nil || f.Status != metav1.ConditionTrue {
			t.Errorf("FetchFailed %+v", f)
		}
		if b.Status.Artifact == nil || b.Status.Artifact.Revision != applied.Revision || b.Status.Artifact.Digest != applied.Digest {
			t.Errorf("artifact %+v, want the last one %+v", b.Status.Artifact, applied)
		}
		// Another interval or two: the Kustomization stays at the last
		// revision and its objects stay as they were.
		time.Sleep(5 * time.Second)
		ks := waitKustomization(t, c, "flux-system", "bkt", "True", 10*time.Second)
		if ks.Status.LastAppliedRevision != applied.Revision {
			t.Errorf("lastAppliedRevision %s, want %s", ks.Status.LastAppliedRevision, applied.Revision)
		}
		waitConfigMapData(t, c, "bkt-a", "two")
		waitConfigMapData(t, c, "bkt-b", "one")
		events := eventsFor(t, c, "flux-system", "bkt")
		for _, text := range []string{events, ready.Message, tether.Logs.String()} {
			for _, key := range []string{s3.SecretKey, wrong} {
				if strings.Contains(text, key) {
					t.Errorf("a secret key shows in status, events or logs")
				}
			}
		}
		if !strings.Contains(events, "AuthenticationFailed") {
			t.Errorf("no AuthenticationFailed event in:\n%s", events)
		}
	})

	t.Run("an unsupported provider stalls", func(t *testing.T) {
		objs := applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: bkt-gcp, namespace: flux-system}
spec: {interval: 1m, provider: gcp, bucketName: manifests, endpoint: storage.googleapis.com}
`)
		t.Cleanup(func() { _ = c.Delete(context.Background(), objs[0]) })
		eventually(t, 30*time.Second, "Bucket bkt-gcp Stalled", func(ctx context.Context) error {
			var b sourcev1.Bucket
			if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: "bkt-gcp"}, &b); err != nil {
				return err
			}
			s := apimeta.FindStatusCondition(b.Status.Conditions, "Stalled")
			if s == nil || s.Status != metav1.ConditionTrue || !strings.Contains(s.Message, "provider 'gcp' is not supported") {
				return fmt.Errorf("Stalled %+v", s)
			}
			return nil
		})
	})
}

// waitBucketArtifact waits for Bucket name to be Ready with an artifact
// whose revision is not notRevision, and returns it.
func waitBucketArtifact(t *testing.T, c client.Client, name, notRevision string) *meta.Artifact {
	t.Helper()
	var b sourcev1.Bucket
	eventually(t, 60*time.Second, "Bucket "+name+" with a new artifact", func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "flux-system", Name: name}, &b); err != nil {
			return err
		}
		ready := apimeta.FindStatusCondition(b.Status.Conditions, "Ready")
		if ready == nil || ready.Status != metav1.ConditionTrue || b.Status.Artifact == nil || b.Status.Artifact.Revision == notRevision {
			return fmt.Errorf("Ready %+v, artifact %+v", ready, b.Status.Artifact)
		}
		return nil
	})
	return b.Status.Artifact
}

// waitConfigMapData waits for ConfigMap default/name to hold a: value.
func waitConfigMapData(t *testing.T, c client.Client, name, value string) {
	t.Helper()
	eventually(t, 30*time.Second, "ConfigMap "+name+" a="+value, func(ctx context.Context) error {
		var cm corev1.ConfigMap
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: name}, &cm); err != nil {
			return err
		}
		if got := cm.Data["a"]; got != value {
			return fmt.Errorf("a = %q", got)
		}
		return nil
	})
}
