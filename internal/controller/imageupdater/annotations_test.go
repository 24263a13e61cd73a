package imageupdater

import (
	"strings"
	"testing"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

func TestParse(t *testing.T) {
	s, err := Parse(map[string]string{
		ImageListAnnotation:                     "podinfo=stefanprodan/podinfo:~6.0, registry.example.com:5000/team/api, nginx:1.25",
		Prefix + "podinfo.update-strategy":      "latest",
		Prefix + "podinfo.allow-tags":           "regexp:^6\\.",
		Prefix + "podinfo.ignore-tags":          "*-rc*, 6.0.0",
		Prefix + "podinfo.helm.image-tag":       "podinfo.tag",
		Prefix + "nginx.update-strategy":        "digest",
		Prefix + "podinfo.kustomize.image-name": "podinfo",
		WriteBackAnnotation:                     "git:secret:argocd/git-creds",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.WriteBack != writeBackGit || len(s.Images) != 3 {
		t.Fatalf("settings %+v", s)
	}
	p, api, ng := s.Images[0], s.Images[1], s.Images[2]
	if p.Alias != "podinfo" || p.Name != "stefanprodan/podinfo" || p.Constraint != "~6.0" || p.Strategy != strategyNewestBuild ||
		!p.Allow.MatchString("6.1") || strings.Join(p.Ignore, "|") != "*-rc*|6.0.0" || p.HelmTag != "podinfo.tag" || p.HelmName != "image.name" ||
		p.KustomizeName != "podinfo" {
		t.Errorf("podinfo %+v", p)
	}
	if api.Name != "registry.example.com:5000/team/api" || api.Constraint != "" || api.Strategy != strategySemver {
		t.Errorf("a registry port is not a constraint: %+v", api)
	}
	if ng.Name != "nginx" || ng.Constraint != "1.25" || ng.Strategy != strategyDigest {
		t.Errorf("nginx %+v", ng)
	}
	for _, bad := range []map[string]string{
		{ImageListAnnotation: "x", WriteBackAnnotation: "email"},
		{ImageListAnnotation: "x", Prefix + "x.update-strategy": "random"},
		{ImageListAnnotation: "x", Prefix + "x.update-strategy": "digest"},
		{ImageListAnnotation: "x", Prefix + "x.allow-tags": "^1"},
		{ImageListAnnotation: "a="},
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%v): no error", bad)
		}
	}
	if s, err := Parse(map[string]string{}); s != nil || err != nil {
		t.Errorf("no annotations: %v %v", s, err)
	}
}

func TestApplyKustomizeAndHelm(t *testing.T) {
	u := update{img: Image{Name: "stefanprodan/podinfo", KustomizeName: "stefanprodan/podinfo", HelmName: "image.repository", HelmTag: "image.tag"}, tag: "6.0.1"}
	src := argov1.ApplicationSource{Kustomize: &argov1.ApplicationSourceKustomize{Images: []string{"nginx:1", "stefanprodan/podinfo:6.0.0"}}}
	if got := apply(&src, "kustomize", []update{u}); len(got) != 1 || src.Kustomize.Images[1] != "stefanprodan/podinfo:6.0.1" || src.Kustomize.Images[0] != "nginx:1" {
		t.Errorf("kustomize: %v %v", got, src.Kustomize.Images)
	}
	if got := apply(&src, "kustomize", []update{u}); len(got) != 0 {
		t.Errorf("a second apply changed %v", got)
	}
	renamed := u
	renamed.img.KustomizeName, renamed.digest = "podinfo", "sha256:abc"
	apply(&src, "kustomize", []update{renamed})
	if last := src.Kustomize.Images[len(src.Kustomize.Images)-1]; last != "podinfo=stefanprodan/podinfo@sha256:abc" {
		t.Errorf("renamed digest entry %q", last)
	}
	h := argov1.ApplicationSource{}
	apply(&h, "helm", []update{u})
	if p := h.Helm.Parameters; len(p) != 2 || p[0].Name != "image.repository" || p[1].Value != "6.0.1" {
		t.Errorf("helm parameters %+v", p)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a=b/c:~1.0, d:1", "semver", "regexp:^v")
	f.Fuzz(func(t *testing.T, list, strategy, allow string) {
		s, err := Parse(map[string]string{ImageListAnnotation: list, Prefix + "a.update-strategy": strategy, Prefix + "a.allow-tags": allow})
		if err != nil || s == nil {
			return
		}
		for _, img := range s.Images {
			if img.Name == "" || img.Alias == "" {
				t.Fatalf("an entry without a name or alias: %+v", img)
			}
		}
	})
}
