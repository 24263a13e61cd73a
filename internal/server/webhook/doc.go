// Package webhook serves the API server's inbound webhooks: Git
// providers' push events at POST /api/webhook (Argo CD's endpoint and
// settings) and Flux Receivers' paths under /hook/.
//
// # Push events (POST /api/webhook)
//
// The provider is told by its headers: X-Gitea-Event, X-Gogs-Event,
// X-GitHub-Event, X-Gitlab-Event, or X-Hook-UUID with X-Event-Key
// (Bitbucket Cloud). Each is verified with its key of argocd-secret:
//
//	webhook.github.secret    X-Hub-Signature-256 (HMAC-SHA256; X-Hub-Signature sha1 when alone)
//	webhook.gitlab.secret    X-Gitlab-Token equal
//	webhook.bitbucket.uuid   X-Hook-UUID equal
//	webhook.gitea.secret     X-Gitea-Signature (HMAC-SHA256, hex); webhook.gogs.secret when unset
//	webhook.gogs.secret      X-Gogs-Signature (HMAC-SHA256, hex)
//
// Comparisons take constant time. As in Argo CD, a provider is accepted
// unsigned while no webhook secret is set at all; once any is set, a
// provider without its own is refused, so that claiming to be another
// provider cannot bypass a secret.
//
// A verified push (GitHub "push", GitLab "Push Hook"/"Tag Push Hook",
// Bitbucket "repo:push", Gitea/Gogs "push") is answered 200 at once and
// refreshed in the background. Refreshed are, read from the manager's
// cache:
//
//   - Applications of --argocd-namespace and --application-namespaces with
//     a Git source whose repoURL is the pushed repository (compared by
//     NormalizeRepoURL, also after --url-rewrite), whose targetRevision is
//     the pushed branch or tag ("" and HEAD: the default branch the
//     payload names), and, when the app has the
//     argocd.argoproj.io/manifest-generate-paths annotation and the
//     payload lists the changed files, a changed file under one of its
//     paths (see PathsChanged). They get argocd.argoproj.io/refresh:
//     normal, which the Application controller honours and clears.
//   - GitRepositories of that URL following that branch or tag (no ref:
//     master; semver: any tag; a pinned commit: never). They get
//     reconcile.fluxcd.io/requestedAt.
//
// Answers: 400 "Unknown webhook event" for a request no provider sends or
// an event that is not a push; 400 for a failed verification or a
// malformed payload; 413 for a body over argocd-cm
// webhook.maxPayloadSizeMB (default 50); 503 with Retry-After when more
// than DefaultReaders bodies are being read for five seconds, or
// DefaultMaxPending events are being refreshed. A redelivered event still
// being refreshed is merged with the first. Parsing reads only the fields
// it needs into plain structs and recovers from any panic; nothing a
// payload says is trusted before its verification, and a refused request
// changes nothing (CVE-2024-40634, CVE-2025-59531, CVE-2025-59537,
// CVE-2025-59538).
//
// # Flux Receivers (/hook/<sha256>)
//
// ReceiverHandler finds the Receiver whose status.webhookPath (recorded
// by internal/controller/receiver) is the request's path and checks that
// the path is still the one of the current token, so a rotated token
// retires the old path at once. Then, as Flux's notification-controller:
// 404 for an unknown path, 503 for a suspended or not-ready Receiver, and
// verification by spec.type:
//
//	generic        none (the path is the secret)
//	generic-hmac   X-Signature: sha1|sha256|sha512=<hex HMAC of the body with the token>
//	github         X-Hub-Signature-256 with the token; X-GitHub-Event in spec.events when set; ping: 200, nothing done
//	gitlab         X-Gitlab-Token equal to the token; X-Gitlab-Event in spec.events when set
//	bitbucket      X-Hub-Signature (Bitbucket Server, sha256=<hex>); X-Event-Key in spec.events; diagnostics:ping: 200
//	harbor         Authorization equal to the token
//
// A verified request annotates every object of spec.resources (kind and
// name, or "*" with matchLabels; namespace defaults to the Receiver's;
// apiVersion optional: the kind's Flux group at its preferred version)
// with reconcile.fluxcd.io/requestedAt. Objects of other namespaces are
// allowed: Tether has no --no-cross-namespace-refs. Bodies are capped at
// DefaultReceiverMaxPayload (25 MiB, GitHub's own limit).
//
// Use (internal/cli/run wires both into the API server):
//
//	push, err := webhook.NewHandler(webhook.Options{Client: mgr.GetClient(), Settings: store,
//		Namespace: "argocd", Logger: logger})
//	receivers, err := webhook.NewReceiverHandler(webhook.ReceiverOptions{
//		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Logger: logger})
//	mux.Handle("POST /api/webhook", push)
//	mux.Handle("/hook/", receivers)
package webhook
