package settings

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// UpdateSecret changes argocd-secret's data with change, on the latest
// copy and guarded by its resourceVersion, retrying on conflicts. A change
// that returns an error writes nothing.
func UpdateSecret(ctx context.Context, client kubernetes.Interface, namespace string, change func(data map[string][]byte) error) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		secrets := client.CoreV1().Secrets(namespace)
		secret, err := secrets.Get(ctx, SecretName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if secret.Data == nil {
			secret.Data = map[string][]byte{}
		}
		if err := change(secret.Data); err != nil {
			return err
		}
		_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("update %s/%s: %w", namespace, SecretName, err)
	}
	return nil
}
