// Package diff decides which differences between a live object and its
// predicted state count for an Argo CD Application's sync status. It
// implements spec.ignoreDifferences (JSON pointers, jq path expressions and
// managedFieldsManagers), the per-object argocd.argoproj.io/compare-options
// annotation, and reading sync options from an Application's list and an
// object's argocd.argoproj.io/sync-options annotation. MaskSecrets hides
// Secret values in every copy of an object shown to a user (the API
// server's diffs and manifests, the CLI's build and diff).
//
// It is pure logic on unstructured objects and does not import Tether's API
// types: the Application controller translates its ResourceIgnoreDifferences
// into Rules. The predicted object is expected to be the API server's
// server-side dry-run result, so defaults are already in it and Equal is a
// plain semantic comparison.
//
// Use: build a Normalizer once per Application, then for each object
// normalize deep copies and compare:
//
//	n, err := diff.New([]diff.Rule{
//		{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}},
//		{Group: "*", Kind: "*", ManagedFieldsManagers: []string{"kube-controller-manager"}},
//	})
//	if err != nil {
//		return fmt.Errorf("application %s: %w", app.Name, err) // names the rule and expression
//	}
//	live, predicted := liveObj.DeepCopy(), dryRunObj.DeepCopy()
//	if err := n.Normalize(live, predicted); err != nil {
//		return err
//	}
//	synced := diff.Equal(live, predicted)
//	if !synced && predicted == nil && diff.ParseCompareOptions(liveObj).IgnoreExtraneous {
//		synced = true // extraneous object that does not count
//	}
//
// Rules match objects as in Argo CD: Group and Kind are globs ("*" matches
// anything, "" is the core group), Name and Namespace must be equal when
// set. JSON pointers follow RFC 6901 ("~1" for "/", "~0" for "~"); a pointer
// to a missing field removes nothing. A jq expression e runs as "del(e)"; on
// an object where it fails, it is skipped for that object.
package diff
