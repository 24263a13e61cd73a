// Package urlrewrite maps the URLs that users write (Git, Helm and OCI) to
// the URLs that Tether actually fetches, so that a mirror or an air-gapped
// site serves the same YAML unchanged.
//
// Rules are "FROM=TO" prefix pairs; the longest matching FROM wins:
//
//	rules, err := urlrewrite.Parse([]string{"https://github.com/=http://127.0.0.1:8080/"})
//	rules.Rewrite("https://github.com/stefanprodan/podinfo")
//	// "http://127.0.0.1:8080/stefanprodan/podinfo"
//
// Rules come from repeated --url-rewrite flags and, optionally, from the
// "rules" key of a ConfigMap (one FROM=TO per line, # comments allowed);
// FromConfigMapData parses that form.
package urlrewrite
