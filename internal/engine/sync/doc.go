// Package sync runs one sync of an app, product-neutral, as gitops-engine
// does for Argo CD: a Plan of phases and waves (a Flux Kustomization is one
// wave; an Argo CD Application has PreSync, Sync and PostSync hooks, sync
// waves, prune waves and PruneLast), a Run that walks it step by step, and
// typed progress Events that the controllers turn into their own status
// and that the API streams.
//
// The package knows nothing of Argo CD's or Flux's API types and writes
// nothing itself: a dialect gives each object a Task and an Executor that
// applies, creates hooks, prunes and reads health through the engine.
//
//	steps, onFail := sync.Plan(tasks, sync.PlanOptions{PruneLast: opts.PruneLast})
//	err := sync.Run(ctx, steps, onFail, executor, sync.RunOptions{App: "Application/argocd/guestbook", Sink: hub.Publish})
//
// A step applies its objects, creates its hooks, prunes, then waits for its
// hooks to complete and, unless it is the last step, for its objects to be
// healthy. A failed step stops the run and runs the SyncFail hooks. Waiting
// is woken by the live cache's change notices (RunOptions.Changes), with a
// slow poll only as a safety net.
package sync
