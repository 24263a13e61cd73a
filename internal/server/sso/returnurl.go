package sso

import (
	"net/url"
	"strings"
)

// ReturnURL says where to send the browser after a login asked for with
// return_url raw, given base, the server's external URL (argocd-cm url).
// raw is kept only when it leads to this server: a path ("/applications",
// never "//host" or "/\host"), or an absolute URL with base's scheme and
// host (Argo CD's UI sends those); both under base's path. Anything else
// (another host, another scheme, user info, control characters) gives
// base's path: no open redirect.
func ReturnURL(raw, base string) string {
	home := "/"
	b, err := url.Parse(base)
	if err == nil && b.Path != "" {
		home = strings.TrimRight(b.Path, "/") + "/"
	}
	if raw == "" || strings.ContainsAny(raw, "\\") || hasControl(raw) {
		return home
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" {
		return home
	}
	switch {
	case u.Scheme == "" && u.Host == "":
		if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
			return home
		}
	case b != nil && strings.EqualFold(u.Scheme, b.Scheme) && strings.EqualFold(u.Host, b.Host) && b.Host != "":
	default:
		return home
	}
	if !underPath(u.Path, home) {
		return home
	}
	return raw
}

// underPath says whether p is home or below it.
func underPath(p, home string) bool {
	return home == "/" || p+"/" == home || strings.HasPrefix(p, home)
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
