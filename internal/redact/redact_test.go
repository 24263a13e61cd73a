package redact

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestString(t *testing.T) {
	tests := []struct {
		name   string
		min    int
		values []string
		in     string
		want   string
	}{
		{"nothing known", 0, nil, "all fine", "all fine"},
		{"one value", 0, []string{"hunter2"}, "password hunter2 refused", "password *** refused"},
		{"every occurrence", 0, []string{"tok"}, "tok tok-tok", "*** ***-***"},
		{"longest first: a value containing another is masked whole", 0, []string{"secret", "secret-long"}, "x=secret-long y=secret", "x=*** y=***"},
		{"duplicates", 0, []string{"secret", "secret"}, "secret", "***"},
		{"shorter than the default minimum", 0, []string{"ab", "x", ""}, "ab x", "ab x"},
		{"a chosen minimum", 4, []string{"abc", "abcd"}, "abc abcd", "abc ***"},
		{"a minimum of one", 1, []string{"x"}, "a x b", "a *** b"},
		{"values made of the mask's stars are left", 1, []string{"*", "***", "****"}, "a *** b", "a *** b"},
		{"a value made again by masking", 0, []string{"a**"}, "a*a**", "*****"},
		{"multi-line", 0, []string{"line one\nline two"}, "got: line one\nline two!", "got: ***!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &Values{Min: tc.min}
			v.Add(tc.values...)
			if got := v.String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name string
		add  func(v *Values) error
		want []string
	}{
		{"dedup, longest first", func(v *Values) error {
			v.Add("bbb", "aaaa", "bbb", "ccc")
			return nil
		}, []string{"aaaa", "bbb", "ccc"}},
		{"with base64", func(v *Values) error {
			v.AddWithBase64("hunter2", "")
			return nil
		}, []string{"aHVudGVyMg==", "hunter2"}},
		{"typed Secret data", func(v *Values) error {
			v.AddSecretData(map[string][]byte{"password": []byte("s3cret"), "empty": nil})
			return nil
		}, []string{"czNjcmV0", "s3cret"}},
		{"unstructured Secret", func(v *Values) error {
			v.AddSecret(secret(t, `
data: {token: c3VwZXItc2VjcmV0, bad: "not base64!"}
stringData: {password: hunter2}
`))
			return nil
		}, []string{"c3VwZXItc2VjcmV0", "aHVudGVyMg==", "super-secret", "not base64!", "hunter2"}},
		{"YAML leaves", func(v *Values) error {
			return v.AddYAMLLeaves([]byte("db:\n  password: pw-from-secret\n  port: 5432\n  hosts: [alpha, beta]\nenabled: true\n"))
		}, []string{"cHctZnJvbS1zZWNyZXQ=", "pw-from-secret", "YWxwaGE=", "YmV0YQ==", "alpha", "beta"}},
		{"JSON leaves", func(v *Values) error {
			return v.AddYAMLLeaves([]byte(`{"a": {"b": ["tok-1"]}}`))
		}, []string{"dG9rLTE=", "tok-1"}},
		{"a scalar document", func(v *Values) error {
			return v.AddYAMLLeaves([]byte(`just-a-string`))
		}, []string{"anVzdC1hLXN0cmluZw==", "just-a-string"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v Values
			if err := tc.add(&v); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(v.list) != fmt.Sprint(tc.want) || v.Len() != len(tc.want) {
				t.Errorf("values = %q (Len %d), want %q", v.list, v.Len(), tc.want)
			}
		})
	}
}

func TestAddYAMLLeavesFails(t *testing.T) {
	var v Values
	if err := v.AddYAMLLeaves([]byte("a: [unclosed")); err == nil || v.Len() != 0 {
		t.Errorf("AddYAMLLeaves of bad YAML: err %v, %d values", err, v.Len())
	}
}

func TestError(t *testing.T) {
	v := New("hunter2")
	clean := errors.New("all fine")
	wrapped := fmt.Errorf("login: %w", errors.New("password hunter2 refused"))
	tests := []struct {
		name     string
		values   *Values
		err      error
		want     string
		same     bool // err is returned as it is
		wrapping bool // the result still wraps something
	}{
		{"nil", v, nil, "", true, false},
		{"nothing to mask", v, clean, "all fine", true, false},
		{"an empty set", &Values{}, wrapped, wrapped.Error(), true, true},
		{"a nil set", nil, wrapped, wrapped.Error(), true, true},
		{"masked, not wrapping the original", v, wrapped, "login: password *** refused", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.values.Error(tc.err)
			if tc.err == nil {
				if got != nil {
					t.Errorf("Error(nil) = %v", got)
				}
				return
			}
			if got.Error() != tc.want {
				t.Errorf("message %q, want %q", got, tc.want)
			}
			if (got == tc.err) != tc.same {
				t.Errorf("returned the same error: %v, want %v", got == tc.err, tc.same)
			}
			if (errors.Unwrap(got) != nil) != tc.wrapping {
				t.Errorf("unwraps to %v", errors.Unwrap(got))
			}
			if !tc.same && strings.Contains(fmt.Sprintf("%+v %#v", got, got), "hunter2") {
				t.Errorf("masked error leaks: %#v", got)
			}
		})
	}
}

func TestNilValues(t *testing.T) {
	var v *Values
	if v.Len() != 0 || v.String("x hunter2") != "x hunter2" {
		t.Error("a nil set masked something")
	}
}

func FuzzString(f *testing.F) {
	f.Add("password hunter2 refused", "hunter2")
	f.Add("a*a**", "a**")
	f.Add("***", "***")
	f.Add("aaaa", "aa")
	f.Add("x", "")
	f.Fuzz(func(t *testing.T, s, value string) {
		v := New(value)
		got := v.String(s)
		if len(value) >= DefaultMin && strings.Trim(value, "*") != "" && strings.Contains(got, value) {
			t.Errorf("String(%q) = %q still holds %q", s, got, value)
		}
		if v.Len() == 0 && got != s {
			t.Errorf("an empty set changed %q into %q", s, got)
		}
	})
}

func secret(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"+doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}
