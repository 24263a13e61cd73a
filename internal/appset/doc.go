// Package appset turns an Argo CD ApplicationSet into the Applications it
// stands for: its generators make parameter sets (list, clusters, git
// directories and files, matrix, merge, with selectors), and the template,
// with each generator's template merged in, is rendered once per set with
// either of Argo CD's two template languages: "{{param}}" substitution
// (the default; flat, dotted parameter names, unknown ones left as they
// are) or Go's text/template with Sprig (goTemplate, nested parameters,
// goTemplateOptions such as missingkey=error), followed by templatePatch.
//
// The package reads Git and clusters only through Sources, so the
// controller decides how repositories are checked out and which clusters
// are registered; everything else here is pure.
package appset
