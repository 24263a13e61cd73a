package artifact

import (
	"slices"
	"testing"
)

func TestPackIgnoreRules(t *testing.T) {
	tests := []struct {
		name   string
		tree   map[string]string
		ignore string
		want   []string
	}{
		{
			name: "seed spec.ignore keeps only deploy",
			tree: map[string]string{
				"README.md":          "readme",
				"apps/app.yaml":      "app",
				"deploy/app.yaml":    "deploy",
				"deploy/sub/x.yaml":  "x",
				"deploy/logo.png":    "png",
				".git/config":        "[core]",
				".sourceignore":      "# nothing",
				"deploy/.gitignore":  "*.tmp",
				"deploy/.git/config": "[core]",
				"deploy/sub/.github": "@dir",
			},
			ignore: "# exclude all\n/*\n# include deploy dir\n!/deploy",
			// As upstream: "!/deploy" ranks above the VCS exclusions, so it
			// brings back deploy/.gitignore (but never a .git directory).
			want: []string{
				"deploy", "deploy/.gitignore", "deploy/app.yaml", "deploy/logo.png", "deploy/sub",
				"deploy/sub/.github", "deploy/sub/x.yaml",
			},
		},
		{
			name: "default exclusions",
			tree: map[string]string{
				".git/HEAD":                   "ref: refs/heads/main",
				".git/objects/ab/cdef":        "blob",
				".gitignore":                  "x",
				".gitmodules":                 "x",
				".gitattributes":              "x",
				"logo.png":                    "png",
				"docs/shot.JPG.jpg":           "jpg",
				"docs/readme.md":              "md",
				"release.tar.gz":              "tgz",
				"bundle.zip":                  "zip",
				".github/workflows/ci.yaml":   "ci",
				".circleci/config.yml":        "ci",
				".travis.yml":                 "ci",
				".gitlab-ci.yml":              "ci",
				"cloudbuild.yaml":             "ci",
				"deep/nested/.sops.yaml":      "sops",
				"deep/nested/.flux.yaml":      "flux",
				"deep/nested/.goreleaser.yml": "gr",
				"deep/nested/app.yaml":        "app",
				"app.yaml":                    "app",
			},
			want: []string{
				"app.yaml", "deep", "deep/nested", "deep/nested/app.yaml", "docs", "docs/readme.md",
			},
		},
		{
			name: "nested .sourceignore files are scoped to their directory",
			tree: map[string]string{
				".sourceignore":     "*.txt\n",
				"a.txt":             "a",
				"b.yaml":            "b",
				"sub/.sourceignore": "# comment\n\nsecret.yaml\n!keep.txt\n",
				"sub/secret.yaml":   "s",
				"sub/keep.txt":      "k",
				"sub/other.txt":     "o",
				"other/secret.yaml": "s",
				"logo.png":          "patterns replace the default exclusions",
				".git/config":       "but never the VCS ones",
			},
			want: []string{
				".sourceignore", "b.yaml", "logo.png", "other", "other/secret.yaml",
				"sub", "sub/.sourceignore", "sub/keep.txt",
			},
		},
		{
			name: "spec.ignore negation overrules .sourceignore",
			tree: map[string]string{
				".sourceignore":  "*.yaml\n",
				"important.yaml": "i",
				"other.yaml":     "o",
			},
			ignore: "!important.yaml",
			want:   []string{".sourceignore", "important.yaml"},
		},
		{
			name: "spec.ignore replaces the default exclusions",
			tree: map[string]string{
				"README.md":   "readme",
				"logo.png":    "png",
				".git/config": "x",
				".gitignore":  "x",
				"app.yaml":    "app",
			},
			ignore: "*.md\n",
			want:   []string{"app.yaml", "logo.png"},
		},
		{
			name: "negation brings back a file inside an excluded directory",
			tree: map[string]string{
				"config/keep.yaml": "k",
				"config/drop.yaml": "d",
				"config/sub/x":     "x",
			},
			ignore: "/config/\n!/config/keep.yaml\n",
			want:   []string{"config/keep.yaml"},
		},
		{
			name: "directory pattern does not match a file of that name",
			tree: map[string]string{
				"build":        "a file",
				"x/build/a.js": "js",
			},
			ignore: "build/\n",
			want:   []string{"build", "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.tree)
			data, _ := packBytes(t, PackOptions{Dir: dir, Ignore: tt.ignore})
			got := entryNames(readArchive(t, data))
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("packed entries\n got %q\nwant %q", got, want)
			}
		})
	}
}
