// Package e2e holds Tether's end-to-end scenarios, each run against a real
// control plane started by internal/testenv. Scenario names follow the seed
// README's "what must happen" column.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-gitops/tether/internal/testenv"
)

var (
	env       *testenv.Env
	setupOnce sync.Once
	setupErr  error
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, testenv.Options{Audit: true}, &env))
}

// cluster returns the package's cluster with Tether's CRDs, the fixture
// CRDs and the seed's namespaces installed, skipping the test under -short.
func cluster(t *testing.T) *testenv.Env {
	t.Helper()
	if env == nil {
		t.Skip("needs a cluster; not run with -short")
	}
	setupOnce.Do(func() { setupErr = installAPIs() })
	if setupErr != nil {
		t.Fatalf("set up cluster: %v", setupErr)
	}
	return env
}

func installAPIs() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	crds, err := filepath.Glob("../../config/crd/bases/*.yaml")
	if err != nil {
		return err
	}
	crds = append(crds, "testdata/crds/monitoring.coreos.com.yaml")
	if err := testenv.InstallCRDs(ctx, env.Config, crds...); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		return err
	}
	for _, ns := range []string{"argocd", "flux-system", "guestbook"} {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}
