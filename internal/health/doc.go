// Package health judges whether a live Kubernetes object is healthy, by the
// same rules Argo CD has built in (gitops-engine's pkg/health), so that an
// Application served by Tether shows the status and message Argo CD would
// show. It works on unstructured objects and knows nothing of Tether's API
// types.
//
// Rules exist for apps/v1 Deployment, StatefulSet, DaemonSet and ReplicaSet;
// v1 Pod, Service and PersistentVolumeClaim; Ingress (networking.k8s.io and
// extensions); batch/v1 Job; HorizontalPodAutoscaler (autoscaling v1, v2beta1,
// v2beta2, v2); APIService; apiextensions.k8s.io/v1 CustomResourceDefinition;
// and Argo Workflows. Assess returns nil for any other kind; the caller
// decides what that means (Argo CD treats such objects as Healthy).
//
// Statuses are ranked as in Argo CD, best to worst: Healthy, Suspended,
// Progressing, Missing, Degraded, Unknown. Worst folds several into one, as
// an Application's overall health is folded from its resources:
//
//	overall := health.Healthy
//	for _, obj := range live {
//		res, err := health.Assess(obj)
//		if err != nil {
//			log.Error(err, "assess health") // res is Unknown, with err as its message
//		}
//		if res == nil {
//			continue // no built-in rule for this kind
//		}
//		overall = health.Worst(overall, res.Status)
//	}
package health
