package health_test

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/internal/health"
)

func ExampleAssess() {
	deploy := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": "web", "namespace": "demo", "generation": int64(2)},
		"spec":       map[string]any{"replicas": int64(2)},
		"status": map[string]any{
			"observedGeneration": int64(2),
			"replicas":           int64(2),
			"updatedReplicas":    int64(2),
			"availableReplicas":  int64(1),
		},
	}}
	res, err := health.Assess(deploy)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Status)
	fmt.Println(res.Message)
	// Output:
	// Progressing
	// Waiting for rollout to finish: 1 of 2 updated replicas are available...
}

func ExampleWorst() {
	fmt.Println(health.Worst(health.Healthy, health.Suspended, health.Progressing))
	fmt.Println(health.Worst(health.Missing, health.Degraded))
	// Output:
	// Progressing
	// Degraded
}
