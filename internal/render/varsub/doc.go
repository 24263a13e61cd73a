// Package varsub expands ${var} expressions the way Flux's
// kustomize-controller does for spec.postBuild.substitute: bash-like
// parameter expansion on braced variables only ($var stays as written),
// with "$$" as the escape for a literal "$".
//
//	out, err := varsub.Expand("image: app:${TAG:=latest} cost: $$5", map[string]string{"TAG": "1.2"}, false)
//	// out == "image: app:1.2 cost: $5"
//
// Supported forms, as in Flux: ${var}, ${#var}, ${var^}, ${var^^}, ${var,},
// ${var,,}, ${var:n}, ${var:n:len}, ${var#pat}, ${var##pat}, ${var%pat},
// ${var%%pat}, ${var/pat/rep}, ${var//pat/rep}, ${var/#pat/rep},
// ${var/%pat/rep}, and the defaults ${var:=d}, ${var:-d}, ${var=d},
// ${var:?d}, ${var:+d} (all of which mean "d when var is empty or unset").
// ${var-d} is rejected as a bad substitution, as in Flux.
//
// In strict mode (Flux's StrictPostBuildSubstitutions feature gate) a
// variable that is not in vars and has no default is an error; otherwise
// it expands to "".
package varsub
