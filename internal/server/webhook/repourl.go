package webhook

import (
	"net"
	"strings"
)

// NormalizeRepoURL returns the form under which two spellings of one Git
// repository compare equal: host and path only, lower case, without
// scheme, user, port, query, trailing slash or ".git" suffix. All of
// these give "github.com/org/repo":
//
//	https://github.com/org/repo
//	https://user:token@GitHub.com:443/Org/Repo.git/
//	ssh://git@github.com:22/org/repo.git
//	git@github.com:org/repo.git
//	git://github.com/org/repo
//
// Case is folded in the path too, as Argo CD's webhook matches (GitHub,
// GitLab and Bitbucket treat repository paths case-insensitively). An
// empty or hostless input gives "".
func NormalizeRepoURL(raw string) string {
	s := strings.TrimSpace(raw)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok && scheme != "" && !strings.ContainsAny(scheme, "/@:") {
		s = rest
	} else if scp, ok := scpToPath(s); ok {
		s = scp
	}
	host, p, _ := strings.Cut(s, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSpace(strings.Trim(host, "[]"))
	if host == "" || strings.ContainsAny(host, " []@\\") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
		return ""
	}
	var parts []string
	for _, seg := range strings.Split(p, "/") {
		if seg = strings.TrimSpace(seg); seg != "" && seg != "." {
			parts = append(parts, seg)
		}
	}
	// Drop ".git" suffixes (any case: the result is folded) until the
	// last segment has none, so that the result normalizes to itself.
	for n := len(parts); n > 0; n = len(parts) {
		last := strings.ToLower(parts[n-1])
		for strings.HasSuffix(last, ".git") {
			last = strings.TrimSpace(strings.TrimSuffix(last, ".git"))
		}
		if last != "" {
			parts[n-1] = last
			break
		}
		parts = parts[:n-1]
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6, bracketed so that the result normalizes to itself
	}
	return strings.ToLower(strings.Join(append([]string{host}, parts...), "/"))
}

// scpToPath turns Git's scp-like address "user@host:path" into
// "user@host/path"; ok is false for anything else (a "host:port/path"
// without scheme keeps its port).
func scpToPath(s string) (string, bool) {
	if strings.HasPrefix(s, "[") {
		return "", false // a bracketed IPv6 host
	}
	first, _, _ := strings.Cut(s, "/")
	host, rest, ok := strings.Cut(first, ":")
	if !ok || host == "" {
		return "", false
	}
	if rest != "" && strings.Trim(rest, "0123456789") == "" {
		return "", false // host:port
	}
	return host + "/" + strings.TrimPrefix(s[len(host)+1:], "/"), true
}
