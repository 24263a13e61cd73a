package artifact

import "testing"

func TestMatcher(t *testing.T) {
	for _, tc := range []struct {
		name  string
		texts []string
		path  string
		want  bool
	}{
		{name: "no patterns", path: "deploy/app.yaml"},
		{name: "no default exclusions", path: "logo.png"},
		{name: "glob", texts: []string{"*.md"}, path: "docs/readme.md", want: true},
		{name: "anchored folder", texts: []string{"/test/"}, path: "test/app.yaml", want: true},
		{name: "anchored folder elsewhere", texts: []string{"/test/"}, path: "deploy/test/app.yaml"},
		{name: "comment and blank", texts: []string{"# *.yaml\n\n"}, path: "app.yaml"},
		{name: "later text wins", texts: []string{"/*", "!/deploy"}, path: "deploy/app.yaml"},
		{name: "later text excludes", texts: []string{"!/deploy", "/*"}, path: "deploy/app.yaml", want: true},
		{name: "exclude all but one", texts: []string{"", "/*\n!/deploy"}, path: "other/app.yaml", want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMatcher(tc.texts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Excluded(tc.path, false); got != tc.want {
				t.Errorf("Excluded(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}
