package flux

import (
	"bufio"
	"bytes"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

func TestParseHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string
		err  bool
	}{
		{name: "a map", in: "Authorization: my-api-token\nX-Forwarded-Proto: https\n",
			want: map[string]string{"Authorization": "my-api-token", "X-Forwarded-Proto": "https"}},
		{name: "names are canonical, numbers are text", in: "x-api-version: 2\nx-flag: true\n",
			want: map[string]string{"X-Api-Version": "2", "X-Flag": "true"}},
		{name: "empty", in: "", want: map[string]string{}},
		{name: "not a map", in: "- a\n- b\n", err: true},
		{name: "nested", in: "A:\n  b: c\n", err: true},
		{name: "a name with a space", in: "\"Bad Name\": x\n", err: true},
		{name: "a value with a line break", in: "X-A: \"v\\r\\nX-Injected: 1\"\n", err: true},
		{name: "not YAML", in: "a: [", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHeaders([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error: %v", err, tc.err)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidHeaders) || strings.Contains(err.Error(), "Injected") {
					t.Errorf("error %q: want ErrInvalidHeaders without the input", err)
				}
				return
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("headers %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzParseHeaders: whatever a Secret holds, the headers parsed from it
// make a well-formed request that carries exactly those headers.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"Authorization: token\n", "a: 1\nb: true\n", "\"x\\ny\": z", "k: \"v\\r\\nInjected: 1\"", "- a", "{a: {b: c}}",
		"Host: a", "Content-Length: 5", "Transfer-Encoding: chunked", "Connection: close", "Trailer: x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		headers, err := ParseHeaders(data)
		if err != nil {
			return
		}
		req, err := http.NewRequest(http.MethodPost, "http://example.invalid/", nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		var buf bytes.Buffer
		if err := req.Write(&buf); err != nil {
			t.Fatalf("headers %q make a request that does not write: %v", headers, err)
		}
		parsed, err := http.ReadRequest(bufio.NewReader(&buf))
		if err != nil {
			t.Fatalf("headers %q make an unreadable request: %v", headers, err)
		}
		for k, v := range headers {
			if framing[k] {
				continue // Go's client writes these from the request itself
			}
			if got := parsed.Header.Get(k); got != strings.Trim(v, " \t") {
				t.Errorf("header %q = %q after a round trip, want %q", k, got, v)
			}
		}
	})
}

// framing are the headers Go's client takes from the request, not from
// its header map.
var framing = map[string]bool{"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Trailer": true}

func TestFromSecret(t *testing.T) {
	tgt := &target{address: "https://spec", username: "spec-user", masks: &redact.Values{}}
	opts := notify.HTTPOptions{Proxy: "http://spec-proxy:3128"}
	err := tgt.fromSecret(map[string][]byte{
		"address": []byte(" https://hooks.example.com/secret-path \n"), "token": []byte("tok\n"), "username": []byte("user"),
		"password": []byte("pw"), "proxy": []byte("http://u:p@proxy:3128"), "headers": []byte("X-Key: header-secret-value\n"),
	}, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.address != "https://hooks.example.com/secret-path" || tgt.token != "tok" || tgt.username != "user" || tgt.password != "pw" ||
		opts.Proxy != "http://u:p@proxy:3128" || tgt.headers["X-Key"] != "header-secret-value" {
		t.Errorf("the Secret's keys did not win: %+v, proxy %s", tgt, opts.Proxy)
	}
	if got := tgt.masks.String("x header-secret-value y"); strings.Contains(got, "header-secret-value") {
		t.Errorf("a header value is not masked: %s", got)
	}
	keep := &target{address: "https://spec", username: "spec-user", masks: &redact.Values{}}
	if err := keep.fromSecret(map[string][]byte{"token": []byte("t")}, &opts); err != nil || keep.address != "https://spec" || keep.username != "spec-user" {
		t.Errorf("keys the Secret lacks changed the spec's: %+v, %v", keep, err)
	}
	if err := keep.fromSecret(map[string][]byte{"headers": []byte("[")}, &opts); !errors.Is(err, ErrInvalidHeaders) {
		t.Errorf("bad headers: %v", err)
	}
}

func TestProxyFromSecret(t *testing.T) {
	for _, tc := range []struct {
		data map[string][]byte
		want string
		err  bool
	}{
		{map[string][]byte{"address": []byte("http://proxy:3128")}, "http://proxy:3128", false},
		{map[string][]byte{"address": []byte("http://proxy:3128"), "username": []byte("u"), "password": []byte("p@ss")}, "http://u:p%40ss@proxy:3128", false},
		{map[string][]byte{}, "", true},
		{map[string][]byte{"address": []byte("not a url")}, "", true},
	} {
		got, err := proxyFromSecret(tc.data)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("proxyFromSecret(%v) = %q, %v", tc.data, got, err)
		}
	}
}

func TestGitAddress(t *testing.T) {
	for _, tc := range []struct{ in, base, repo string }{
		{"https://github.com/org/repo", "https://github.com", "org/repo"},
		{"https://github.com/org/repo.git", "https://github.com", "org/repo"},
		{"http://127.0.0.1:8080/org/repo/", "http://127.0.0.1:8080", "org/repo"},
		{"ssh://git@github.com:22/org/repo.git", "https://github.com", "org/repo"},
		{"git@gitlab.com:group/sub/repo.git", "https://gitlab.com", "group/sub/repo"},
		{"https://gitlab.com/1234", "https://gitlab.com", "1234"},
		{"https://github.com/", "", ""},
		{"not a url", "", ""},
		{"", "", ""},
	} {
		base, repo, err := gitAddress(tc.in)
		if base != tc.base || repo != tc.repo || (err != nil) != (tc.base == "") {
			t.Errorf("gitAddress(%q) = %q, %q, %v", tc.in, base, repo, err)
		}
	}
}

func TestDescribe(t *testing.T) {
	for in, want := range map[string]string{
		"ReconciliationSucceeded": "reconciliation succeeded",
		"HealthCheckFailed":       "health check failed",
		"HTTPServerError":         "http server error",
		"ArtifactFailed2":         "artifact failed 2",
		"":                        "",
	} {
		if got := describe(in); got != want {
			t.Errorf("describe(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzGitAddress: any Provider address either fails or gives a base URL
// with a scheme and host, and a repository path without slashes at its
// ends.
func FuzzGitAddress(f *testing.F) {
	for _, s := range []string{"https://github.com/org/repo.git", "git@host:a/b", "ssh://git@h:22/a/b", "://", "@:", "http://[::1]:80/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, address string) {
		base, repo, err := gitAddress(address)
		if err != nil {
			if !notify.IsPermanent(err) {
				t.Errorf("gitAddress(%q): %v is not permanent", address, err)
			}
			return
		}
		scheme, host, ok := strings.Cut(base, "://")
		if !ok || scheme == "" || host == "" || repo == "" || strings.HasPrefix(repo, "/") || strings.HasSuffix(repo, "/") {
			t.Errorf("gitAddress(%q) = %q, %q", address, base, repo)
		}
	})
}
