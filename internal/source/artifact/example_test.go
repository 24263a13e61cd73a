package artifact_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tether-gitops/tether/internal/source/artifact"
)

// Example packs a checkout with the seed's spec.ignore, stores it and
// garbage collects older artifacts of the same object.
func Example() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "artifact-example-")
	defer os.RemoveAll(tmp)

	checkout := filepath.Join(tmp, "checkout")
	for name, body := range map[string]string{
		"README.md":                 "# podinfo",
		"deploy/deployment.yaml":    "kind: Deployment",
		"deploy/service.yaml":       "kind: Service",
		"charts/podinfo/Chart.yaml": "name: podinfo",
	} {
		p := filepath.Join(checkout, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		_ = os.WriteFile(p, []byte(body), 0o644)
	}

	store, err := artifact.NewStorage(filepath.Join(tmp, "storage"), "http://source-controller.flux-system.svc.cluster.local.")
	if err != nil {
		fmt.Println(err)
		return
	}
	var files int
	stored, err := store.Store(ctx, "GitRepository", "flux-system", "podinfo", func(w io.Writer) (artifact.PackResult, error) {
		res, err := artifact.Pack(ctx, w, artifact.PackOptions{
			Dir:    checkout,
			Ignore: "# exclude all\n/*\n# include deploy dir\n!/deploy",
		})
		files = res.Files
		return res, err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("files:", files)
	fmt.Println("path:", strings.TrimSuffix(stored.Path, filepath.Base(stored.Path)))
	fmt.Println("url:", strings.TrimSuffix(stored.URL, filepath.Base(stored.URL)))
	fmt.Println("exists:", store.Exists(stored.Path))

	removed, _ := store.GC("GitRepository", "flux-system", "podinfo", 2, stored.Path)
	fmt.Println("removed:", len(removed))
	// Output:
	// files: 2
	// path: gitrepository/flux-system/podinfo/
	// url: http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/podinfo/
	// exists: true
	// removed: 0
}
