// Package git is Tether's one Git client, shared by every consumer (Flux
// GitRepository objects, Argo CD Applications). It speaks Git through
// go-git only; the git command is never run.
//
// Two steps, so that the common case (nothing changed) costs one small
// request:
//
//   - Resolve asks the remote which commit a reference points at, by
//     listing its references (git ls-remote). Concurrent callers for the
//     same URL and credentials share one listing, and a listing younger
//     than Options.ResolveTTL answers without a request unless forced.
//   - Checkout writes that commit's files to a cached directory, shallow
//     where possible, once per URL and commit however many callers ask.
//
// Use:
//
//	f, err := git.NewFetcher(git.Options{CacheDir: "/var/cache/tether/git"})
//	...
//	auth, err := git.AuthFromSecret(secret.Data) // Flux's keys: username, password, identity, known_hosts, ...
//	ref := git.Ref{Branch: "main"}
//	res, err := f.Resolve(ctx, "https://github.com/stefanprodan/podinfo", ref, auth, false)
//	// res.Revision == "main@sha1:<hash>", as Flux reports it
//	if res.Revision != lastRevision {
//		dir, release, err := f.Checkout(ctx, url, ref, res, auth)
//		...
//		defer release()
//		// read dir; do not modify it
//	}
//
// Errors are *Error values whose messages name the URL (and the rewritten
// URL when Options.Rewrite applied) and the reference, never credentials;
// errors.Is tells the kinds apart: ErrAuthentication, ErrRefNotFound,
// ErrNoMatchingTag, ErrCommitNotFound, ErrRepositoryNotFound,
// ErrUnreachable, ErrUntrustedHost, ErrInvalid.
//
// SSH needs a known_hosts in the Secret: without one, Tether refuses to
// connect rather than trust whatever host answers.
package git
