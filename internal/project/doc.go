// Package project applies the rules of an Argo CD AppProject to the
// Applications that belong to it: which repositories they may use, where
// they may deploy, which kinds of objects they may manage, from which
// namespaces they may be created and when they may sync. It also checks an
// AppProject the way Argo CD's API server does before accepting it.
//
// The package is pure logic: it reads no cluster and keeps no state, so the
// Application controller fetches the AppProject, falls back to Default when
// no AppProject named "default" exists, and asks:
//
//	proj := project.Default()
//	if ap != nil { // the AppProject named by app.Spec.Project
//		if err := project.Validate(ap); err != nil {
//			return err // `AppProject "production" is invalid: spec.roles[0].policies[0]: ...`
//		}
//		proj = project.New(ap)
//	}
//	if !proj.PermitsSourceNamespace(app.Namespace, "argocd") {
//		return fmt.Errorf("application %q in namespace %q may not use project %s", app.Name, app.Namespace, proj.Name)
//	}
//	if !proj.PermitsSource(app.Spec.Source.RepoURL) {
//		return fmt.Errorf("application repo %s is not permitted in project '%s'", app.Spec.Source.RepoURL, proj.Name)
//	}
//	dest := app.Spec.Destination // with both Server and Name filled in
//	if !proj.PermitsDestination(dest) {
//		return fmt.Errorf("application destination server %q and namespace %q do not match any of the allowed destinations in project '%s'", dest.Server, dest.Namespace, proj.Name)
//	}
//	for _, obj := range rendered {
//		gvk := obj.GroupVersionKind()
//		if err := proj.PermitsObject(gvk.Group, gvk.Kind, obj.GetName(), obj.GetNamespace(), namespaced(gvk), dest); err != nil {
//			return err // "resource :ResourceQuota is not permitted in project production (...)"
//		}
//	}
//	if ok, reason := proj.CanSync(app.Name, dest, manual, time.Now()); !ok {
//		return errors.New(reason) // "sync blocked: active deny window spec.syncWindows[0] (deny:0 22 * * *:1h)"
//	}
//
// Matching follows Argo CD: source repositories are compared after Argo's
// URL normalisation (lower case, "git@host:path" rewritten, trailing ".git"
// dropped) with '/'-aware globs; destinations, sync window selectors and
// source namespaces use plain globs; kinds, groups and cluster-scoped names
// use Go's filepath.Match. A pattern starting with "!" in sourceRepos or
// destinations rejects what it matches, whatever else allows it.
package project
