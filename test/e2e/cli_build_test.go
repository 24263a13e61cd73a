package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/testenv/gitserver"
)

// cliBuildFixture is the folder that Git holds and the test copies, with
// edits, to run `tether build|diff ks` on.
const cliBuildFixture = "testdata/cli-build/app"

// The clear values the output must never show: the Secret in the folder
// (before and after an edit) and the variable substituted from a Secret.
const (
	cliBuildPassword = "cli-build-clear-password-7731"
	cliBuildNewPass  = "cli-build-rotated-password-9902"
	cliBuildToken    = "tok-cli-build-5521"
)

// TestCLIBuildAndDiffKustomization deploys a Kustomization from Git, then
// runs `tether build ks` and `tether diff ks` (and `flux diff ks`) on
// local copies of its folder: unchanged, with an object changed and one
// added, with the Secret changed, with an object removed, and broken.
func TestCLIBuildAndDiffKustomization(t *testing.T) {
	c := kubeClient(t)
	ctx := context.Background()
	files := readFixture(t, cliBuildFixture)
	srv := gitserver.New(t, gitserver.Options{})
	repo := srv.CreateRepo(t, "cli-build")
	committed := map[string]string{}
	for name, data := range files {
		committed["app/"+name] = data
	}
	repo.Commit(t, "master", committed, "cli-build app")
	startTether(t, "--url-rewrite", "https://git.cli-build.example/="+srv.URL+"/")
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cli-build"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	upsertSecret(t, c, "flux-system", "cli-build-vars", map[string]string{"api_token": cliBuildToken})
	applyYAML(t, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: cli-build, namespace: flux-system}
spec: {interval: 1m, url: https://git.cli-build.example/cli-build.git}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: cli-build, namespace: flux-system}
spec:
  interval: 1m
  path: ./app
  prune: true
  targetNamespace: cli-build
  postBuild:
    substitute: {cluster_env: staging}
    substituteFrom:
      - {kind: Secret, name: cli-build-vars}
  sourceRef: {kind: GitRepository, name: cli-build}
`)
	waitKustomization(t, c, "flux-system", "cli-build", "True", 90*time.Second)
	cli := newCLI(t)
	unchanged := localCopy(t, files, nil)

	t.Run("build prints the objects as the controller renders them", func(t *testing.T) {
		out := cli.ok("tether", "build", "kustomization", "cli-build", "--path", unchanged, "-n", "flux-system")
		for _, want := range []string{
			"kind: Deployment", "kind: ConfigMap", "kind: Secret",
			"namespace: cli-build", // targetNamespace
			"env: staging",         // postBuild.substitute
			"token: ***",           // substituteFrom a Secret, read from the cluster, masked
			"kustomize.toolkit.fluxcd.io/name: cli-build",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("build output lacks %q", want)
			}
		}
		if strings.Contains(out, "${") {
			t.Error("a variable was not substituted")
		}
		noClearValues(t, out)
	})

	t.Run("diff of an unchanged folder prints nothing and exits 0", func(t *testing.T) {
		res := cli.run("tether", "diff", "ks", "cli-build", "--path", unchanged)
		if res.code != 0 || strings.Contains(res.stdout, "►") {
			t.Errorf("exit %d, output:\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	changed := localCopy(t, files, map[string]string{
		"settings.yaml": strings.Replace(files["settings.yaml"], "level: info", "level: debug", 1),
		"extra.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {new: \"yes\"}\n",
	})
	for _, name := range []string{"tether", "flux"} {
		t.Run(name+" diff prints the changed and the new object only and exits 1", func(t *testing.T) {
			res := cli.run(name, "diff", "ks", "cli-build", "--path", changed)
			if res.code != 1 {
				t.Errorf("exit %d, want 1", res.code)
			}
			wantHeadings(t, res.stdout, "ConfigMap/cli-build/settings drifted", "ConfigMap/cli-build/extra created")
			for _, line := range []string{"-  level: info", "+  level: debug"} {
				if !strings.Contains(res.stdout, "\n"+line+"\n") {
					t.Errorf("diff lacks the line %q", line)
				}
			}
			if !strings.Contains(res.stderr, "differs from the cluster") {
				t.Errorf("stderr does not say why it exits 1: %q", res.stderr)
			}
			noClearValues(t, res.stdout+res.stderr)
		})
	}

	t.Run("a changed Secret is shown masked", func(t *testing.T) {
		dir := localCopy(t, files, map[string]string{
			"secret.yaml": strings.Replace(files["secret.yaml"], cliBuildPassword, cliBuildNewPass, 1),
		})
		res := cli.run("tether", "diff", "ks", "cli-build", "--path", dir)
		if res.code != 1 {
			t.Errorf("exit %d, want 1", res.code)
		}
		wantHeadings(t, res.stdout, "Secret/cli-build/creds drifted")
		if !strings.Contains(res.stdout, "\n-  password: +") || !strings.Contains(res.stdout, "\n+  password: +") {
			t.Errorf("the changed key is not shown masked")
		}
		noClearValues(t, res.stdout+res.stderr)
	})

	t.Run("an object the folder no longer has is shown deleted", func(t *testing.T) {
		dir := localCopy(t, files, map[string]string{"static.yaml": ""})
		res := cli.run("tether", "diff", "ks", "cli-build", "--path", dir)
		if res.code != 1 {
			t.Errorf("exit %d, want 1", res.code)
		}
		wantHeadings(t, res.stdout, "ConfigMap/cli-build/static deleted")
	})

	t.Run("a bad folder or bad YAML fails naming it", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nowhere")
		broken := localCopy(t, files, map[string]string{"broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: indent\n"})
		for _, tc := range []struct{ dir, want string }{{missing, missing}, {broken, "broken.yaml"}} {
			for _, verb := range []string{"build", "diff"} {
				res := cli.run("tether", verb, "ks", "cli-build", "--path", tc.dir)
				if res.code != 1 || !strings.Contains(res.stderr, tc.want) || strings.Contains(res.stdout, "►") {
					t.Errorf("%s of %s: exit %d, stderr %q; want 1 and %q named", verb, tc.dir, res.code, res.stderr, tc.want)
				}
			}
		}
		res := cli.run("tether", "diff", "ks", "no-such-ks", "--path", unchanged)
		if res.code != 1 || !strings.Contains(res.stderr, "flux-system/no-such-ks") {
			t.Errorf("unknown Kustomization: exit %d, stderr %q", res.code, res.stderr)
		}
	})

	t.Run("the objects in the cluster are untouched", func(t *testing.T) {
		var cm corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKey{Namespace: "cli-build", Name: "settings"}, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Data["level"] != "info" || cm.Data["token"] != cliBuildToken {
			t.Errorf("settings = %v", cm.Data)
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "cli-build", Name: "extra"}, &cm); !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap extra: %v, want not found", err)
		}
	})
}

// readFixture returns the files of dir by name.
func readFixture(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	return files
}

// localCopy writes files to a new folder, with edits: a file replaced or
// added, or removed when its new content is "".
func localCopy(t *testing.T, files, edits map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{}
	for name, data := range files {
		all[name] = data
	}
	for name, data := range edits {
		all[name] = data
	}
	for name, data := range all {
		if data == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantHeadings checks that the diff names exactly these objects, in any
// order.
func wantHeadings(t *testing.T, out string, want ...string) {
	t.Helper()
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "► "); ok {
			got = append(got, s)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("objects shown: %q, want %q", got, want)
	}
}

// noClearValues fails when out shows a Secret's value, in clear or in
// base64.
func noClearValues(t *testing.T, out string) {
	t.Helper()
	for _, v := range []string{cliBuildPassword, cliBuildNewPass, cliBuildToken} {
		if strings.Contains(out, v) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(v))) {
			t.Errorf("output shows the Secret value %q", v)
		}
	}
}
