package varsub

import (
	"errors"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{
		"name":  "podinfo",
		"Upper": "Hello World",
		"empty": "",
		"path":  "a/b/c.tar.gz",
		"n":     "2",
	}
	tests := []struct {
		in, want string
	}{
		{"plain text", "plain text"},
		{"${name}", "podinfo"},
		{"app-${name}-x", "app-podinfo-x"},
		{"$name stays", "$name stays"},
		{"cost: $5 and $", "cost: $5 and $"},
		{"$${name}", "${name}"},
		{"$$", "$"},
		{"$$${name}", "$podinfo"},
		{"${missing}", ""},
		{"${missing:=fallback}", "fallback"},
		{"${missing:-fallback}", "fallback"},
		{"${missing=fallback}", "fallback"},
		{"${missing:?msg}", "msg"},
		{"${empty:=fallback}", "fallback"},
		{"${name:=fallback}", "podinfo"},
		{"${missing:=a b c}", "a b c"},
		{"${missing:=${name}}", "podinfo"},
		{"${missing:=x-${name}-y}", "x-podinfo-y"},
		{"${missing:=}", ""},
		{"${#name}", "7"},
		{"${Upper,}", "hello World"},
		{"${Upper,,}", "hello world"},
		{"${name^}", "Podinfo"},
		{"${name^^}", "PODINFO"},
		{"${name:3}", "info"},
		{"${name:3:2}", "in"},
		{"${name:-4}", "podinfo"}, // ":-" is a default, as in Flux
		{"${name:${n}}", "dinfo"},
		{"${name:1:-1}", "odinf"},
		{"${name:20}", ""},
		{"${name:x}", "podinfo"},
		{"${path#*/}", "b/c.tar.gz"},
		{"${path##*/}", "b/c.tar.gz"}, // "*" does not cross "/" (path.Match)
		{"${path%.*}", "a/b/c.tar"},
		{"${path%%.*}", "a/b/c"},
		{"${name/o/0}", "p0dinfo"},
		{"${name//o/0}", "p0dinf0"},
		{"${name/#pod/POD}", "PODinfo"},
		{"${name/%info/INFO}", "podINFO"},
		{"${name/o/}", "pdinfo"},
		{"${path//\\//_}", "a_b_c.tar.gz"},
		{"héllo ${name} ✓", "héllo podinfo ✓"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, vars, false)
		if err != nil {
			t.Errorf("Expand(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"${", ErrVariableName},
		{"${}", ErrVariableName},
		{"${name", ErrMissingClosingBrace},
		{"${name-default}", ErrMissingClosingBrace},
		{"${name:=x", ErrFuncSubstitution},
		{"${#}", ErrBadSubstitution},
		{"${name/a}", ErrBadSubstitution},
		{"${name^x}", ErrBadSubstitution},
		{"ok ${a} then ${b", ErrMissingClosingBrace},
	}
	for _, tt := range tests {
		_, err := Expand(tt.in, map[string]string{"name": "x"}, false)
		if !errors.Is(err, tt.want) {
			t.Errorf("Expand(%q) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestExpandStrict(t *testing.T) {
	vars := map[string]string{"set": "v", "empty": ""}
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"${set}", "v", false},
		{"${empty}", "", false},
		{"${unset}", "", true},
		{"${#unset}", "", true},
		{"${unset^^}", "", true},
		{"${unset:=d}", "d", false},
		{"${unset:-d}", "d", false},
		{"${unset=d}", "d", false},
		{"${set:=${unset}}", "", true}, // arguments are expanded first, as in Flux
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, vars, true)
		if (err != nil) != tt.wantErr {
			t.Errorf("Expand(%q, strict) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, ErrNotSet) {
			t.Errorf("Expand(%q, strict) error = %v, want ErrNotSet", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("Expand(%q, strict) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
