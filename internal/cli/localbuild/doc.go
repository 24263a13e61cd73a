// Package localbuild implements `tether build kustomization` and `tether
// diff kustomization`, Flux's `flux build ks` and `flux diff ks`: a local
// folder is rendered exactly as the Kustomization controller renders the
// Kustomization's spec.path (the controller's own render options and
// postBuild substitutions, substituteFrom read from the cluster), then
// printed, or compared with the cluster as the controller compares before
// it applies (a server-side dry-run apply with the controller's field
// manager).
//
//	tether build ks apps --path ./clusters/prod/apps
//	tether diff ks apps --path ./clusters/prod/apps -n flux-system
//
// diff prints each object that applying the folder would create, change
// (with a unified diff of its YAML, cluster first) or, when the
// Kustomization prunes, delete:
//
//	► ConfigMap/apps/settings drifted
//	--- ConfigMap/apps/settings (cluster)
//	+++ ConfigMap/apps/settings (local)
//	@@ -3,3 +3,3 @@
//	 data:
//	-  level: info
//	+  level: debug
//	► ConfigMap/apps/extra created
//
// and fails with ErrDifferences (exit status 1) when it printed anything.
// The values of Secrets, and every value substituted from a Secret, are
// masked in what either command prints.
//
// Run (build) and RunDiff (diff) take an Options struct and are usable
// without cobra.
package localbuild
