package application

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestServiceAccountUser(t *testing.T) {
	const local = "https://kubernetes.default.svc"
	type sa = argov1.ApplicationDestinationServiceAccount
	for _, tc := range []struct {
		name              string
		entries           []sa
		server, ns, appNS string
		want              string
		wantErr           []string // parts of the error, when one is expected
	}{
		{name: "exact match, name in the destination namespace",
			entries: []sa{{Server: local, Namespace: "team-a", DefaultServiceAccount: "deployer"}},
			server:  local, ns: "team-a", appNS: "argocd", want: "system:serviceaccount:team-a:deployer"},
		{name: "namespace:name names its own namespace",
			entries: []sa{{Server: local, Namespace: "team-a", DefaultServiceAccount: "ops:deployer"}},
			server:  local, ns: "team-a", want: "system:serviceaccount:ops:deployer"},
		{name: "globs on server and namespace",
			entries: []sa{{Server: "https://*.example.com", Namespace: "team-*", DefaultServiceAccount: "deployer"}},
			server:  "https://prod.eu.example.com", ns: "team-b", want: "system:serviceaccount:team-b:deployer"},
		{name: "first match wins",
			entries: []sa{{Server: "*", Namespace: "team-a", DefaultServiceAccount: "first"}, {Server: "*", Namespace: "*", DefaultServiceAccount: "second"}},
			server:  local, ns: "team-a", want: "system:serviceaccount:team-a:first"},
		{name: "later entry when the first does not match",
			entries: []sa{{Server: "*", Namespace: "team-a", DefaultServiceAccount: "first"}, {Server: "*", Namespace: "*", DefaultServiceAccount: "second"}},
			server:  local, ns: "team-b", want: "system:serviceaccount:team-b:second"},
		{name: "no destination namespace: the app's namespace",
			entries: []sa{{Server: local, Namespace: "*", DefaultServiceAccount: "deployer"}},
			server:  local, ns: "", appNS: "apps", want: "system:serviceaccount:apps:deployer"},
		{name: "an empty namespace pattern matches only no namespace",
			entries: []sa{{Server: local, DefaultServiceAccount: "deployer"}},
			server:  local, ns: "team-a", wantErr: []string{"project 'p'", "server '" + local + "'", "namespace 'team-a'", "destinationServiceAccounts"}},
		{name: "no entries",
			server: local, ns: "team-a", wantErr: []string{"project 'p' names no service account for destination server '" + local + "' and namespace 'team-a'"}},
		{name: "server does not match",
			entries: []sa{{Server: "https://other.example.com", Namespace: "*", DefaultServiceAccount: "deployer"}},
			server:  local, ns: "team-a", wantErr: []string{"names no service account"}},
		{name: "empty service account",
			entries: []sa{{Server: "*", Namespace: "*", DefaultServiceAccount: " "}},
			server:  local, ns: "team-a", wantErr: []string{"spec.destinationServiceAccounts[0].defaultServiceAccount", "is not a service account"}},
		{name: "glob characters in the service account",
			entries: []sa{{Server: "*", Namespace: "*", DefaultServiceAccount: "deploy*"}},
			server:  local, ns: "team-a", wantErr: []string{"defaultServiceAccount \"deploy*\""}},
		{name: "namespace without name",
			entries: []sa{{Server: "*", Namespace: "*", DefaultServiceAccount: "ops:"}},
			server:  local, ns: "team-a", wantErr: []string{"is not a service account"}},
		{name: "too many colons",
			entries: []sa{{Server: "*", Namespace: "*", DefaultServiceAccount: "a:b:c"}},
			server:  local, ns: "team-a", wantErr: []string{"is not a service account"}},
		{name: "invalid glob",
			entries: []sa{{Server: "https://[", Namespace: "*", DefaultServiceAccount: "deployer"}},
			server:  local, ns: "team-a", wantErr: []string{"spec.destinationServiceAccounts[0].server: invalid glob pattern"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serviceAccountUser("p", tc.entries, tc.server, tc.ns, tc.appNS)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				for _, part := range tc.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q lacks %q", err, part)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestSplitClient: reads go to Tether's client, writes to the writer, and
// a refused client refuses every write, dry runs included.
func TestSplitClient(t *testing.T) {
	ctx := context.Background()
	cm := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	}
	refusal := errors.New("refused: no service account")
	for _, tc := range []struct {
		name    string
		refused error
	}{{"impersonating", nil}, {"refused", refusal}} {
		t.Run(tc.name, func(t *testing.T) {
			reads := fake.NewClientBuilder().WithObjects(cm("seen")).Build()
			writes := fake.NewClientBuilder().Build()
			var writer client.Client = writes
			if tc.refused != nil {
				writer = nil
			}
			c := &splitClient{Client: reads, writer: writer, refused: tc.refused}
			if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "seen"}, &corev1.ConfigMap{}); err != nil {
				t.Fatalf("read through Tether's client: %v", err)
			}
			if tc.refused == nil {
				if err := c.Create(ctx, cm("first")); err != nil {
					t.Fatal(err)
				}
				if err := writes.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "first"}, &corev1.ConfigMap{}); err != nil {
					t.Errorf("the write did not reach the writer: %v", err)
				}
			}
			for _, write := range []struct {
				what string
				do   func() error
			}{
				{"create", func() error { return c.Create(ctx, cm("new")) }},
				{"dry-run create", func() error { return c.Create(ctx, cm("dry"), client.DryRunAll) }},
				{"update", func() error { return c.Update(ctx, cm("new")) }},
				{"patch", func() error { return c.Patch(ctx, cm("new"), client.MergeFrom(cm("new"))) }},
				{"status update", func() error { return c.Status().Update(ctx, cm("new")) }},
				{"delete", func() error { return c.Delete(ctx, cm("new")) }},
				{"delete all", func() error { return c.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace("ns")) }},
			} {
				err := write.do()
				switch {
				case tc.refused != nil && !errors.Is(err, refusal):
					t.Errorf("%s: %v, want the refusal", write.what, err)
				case tc.refused == nil && err != nil && !apierrors.IsNotFound(err):
					t.Errorf("%s: %v", write.what, err)
				}
			}
			var read corev1.ConfigMapList
			if err := reads.List(ctx, &read); err != nil || len(read.Items) != 1 {
				t.Errorf("writes reached Tether's client: %d objects (%v)", len(read.Items), err)
			}
			var written corev1.ConfigMapList
			if err := writes.List(ctx, &written); err != nil {
				t.Fatal(err)
			}
			if tc.refused != nil && len(written.Items) > 0 {
				t.Errorf("refused client wrote %d objects", len(written.Items))
			}
		})
	}
}
