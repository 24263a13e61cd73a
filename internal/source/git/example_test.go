package git_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tether-gitops/tether/internal/source/git"
)

// A controller resolves the reference on every reconcile, and checks the
// files out only when the revision changed.
func ExampleFetcher() {
	f, err := git.NewFetcher(git.Options{CacheDir: "/var/cache/tether/git"})
	if err != nil {
		log.Fatal(err)
	}
	// From the GitRepository's secretRef; nil for a public repository.
	auth, err := git.AuthFromSecret(map[string][]byte{"bearerToken": []byte("...")})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	url, ref := "https://github.com/stefanprodan/podinfo", git.Ref{Branch: "master"}

	res, err := f.Resolve(ctx, url, ref, auth, false)
	if errors.Is(err, git.ErrRefNotFound) {
		log.Fatal(err) // "branch 'master' not found in https://github.com/stefanprodan/podinfo"
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Revision) // master@sha1:<hash>

	dir, release, err := f.Checkout(ctx, url, ref, res, auth)
	if err != nil {
		log.Fatal(err)
	}
	defer release()
	kustomization, err := os.ReadFile(filepath.Join(dir, "kustomize", "kustomization.yaml"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(kustomization) > 0)
}
