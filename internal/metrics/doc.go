// Package metrics publishes the Prometheus metrics that dashboards and
// alert rules written for Argo CD and Flux already query, under their
// names and labels: argocd_app_info, argocd_cluster_info and Flux's
// gotk_reconcile_condition, gotk_suspend_status and gotk_resource_info are
// computed from the manager's cache at each scrape (no state to keep,
// nothing left behind for a deleted object); argocd_app_sync_total,
// argocd_app_reconcile, gotk_reconcile_duration_seconds and
// argocd_git_request_total are counted as things happen, through a
// Recorder. No label carries a revision or a message, so the number of
// series grows with the objects, not with their history.
package metrics
