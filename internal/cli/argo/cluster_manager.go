package argo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// managerServiceAccount is the ServiceAccount `cluster add` makes, as
// argocd does.
const managerServiceAccount = "argocd-manager"

// managerRole names the ClusterRole or Roles and their bindings.
const managerRole = "argocd-manager-role"

// managerOptions say which ServiceAccount gets which rights.
type managerOptions struct {
	// Namespace holds the ServiceAccount (--system-namespace).
	Namespace string
	// ServiceAccount is its name.
	ServiceAccount string
	// Create makes the ServiceAccount and its rights; otherwise it must
	// exist and only its token is made.
	Create bool
	// Namespaces, when set, limit the rights to Roles there, plus the
	// ClusterRole when ClusterResources is set.
	Namespaces       []string
	ClusterResources bool
	// Log receives a line per object made.
	Log io.Writer
}

func (m managerOptions) privileges() string {
	if len(m.Namespaces) == 0 {
		return "full cluster level privileges"
	}
	return "full privileges in namespaces " + strings.Join(m.Namespaces, ", ")
}

// installManager makes the ServiceAccount, its rights and a token Secret
// in the target cluster and returns the token once the cluster's token
// controller has filled it in.
func installManager(ctx context.Context, kc kubernetes.Interface, m managerOptions) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: m.ServiceAccount, Namespace: m.Namespace}}
	if m.Create {
		_, err := kc.CoreV1().ServiceAccounts(m.Namespace).Create(ctx, sa, metav1.CreateOptions{})
		switch {
		case apierrors.IsAlreadyExists(err):
			fmt.Fprintf(m.Log, "ServiceAccount %q already exists in namespace %q\n", m.ServiceAccount, m.Namespace)
		case err != nil:
			return "", fmt.Errorf("create ServiceAccount %s/%s: %w", m.Namespace, m.ServiceAccount, err)
		default:
			fmt.Fprintf(m.Log, "ServiceAccount %q created in namespace %q\n", m.ServiceAccount, m.Namespace)
		}
		if err := grantManager(ctx, kc, m); err != nil {
			return "", err
		}
	} else if _, err := kc.CoreV1().ServiceAccounts(m.Namespace).Get(ctx, m.ServiceAccount, metav1.GetOptions{}); err != nil {
		return "", fmt.Errorf("ServiceAccount %s/%s: %w", m.Namespace, m.ServiceAccount, err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: m.ServiceAccount + "-long-lived-token", Namespace: m.Namespace,
		Annotations: map[string]string{corev1.ServiceAccountNameKey: m.ServiceAccount}}, Type: corev1.SecretTypeServiceAccountToken}
	if _, err := kc.CoreV1().Secrets(m.Namespace).Create(ctx, secret, metav1.CreateOptions{}); err == nil {
		fmt.Fprintf(m.Log, "Created bearer token secret %q for ServiceAccount %q\n", secret.Name, m.ServiceAccount)
	} else if !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create token Secret %s/%s: %w", m.Namespace, secret.Name, err)
	}
	var token string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, tokenTimeout, true, func(ctx context.Context) (bool, error) {
		s, err := kc.CoreV1().Secrets(m.Namespace).Get(ctx, secret.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		token = string(s.Data[corev1.ServiceAccountTokenKey])
		return token != "", nil
	})
	if err != nil {
		return "", fmt.Errorf("token of ServiceAccount %s/%s not filled in within %s (is the cluster's kube-controller-manager running?): %w",
			m.Namespace, m.ServiceAccount, tokenTimeout, err)
	}
	return token, nil
}

// tokenTimeout bounds the wait for a ServiceAccount token.
const tokenTimeout = 30 * time.Second

// grantManager gives the ServiceAccount every right in the cluster, or in
// each of m.Namespaces.
func grantManager(ctx context.Context, kc kubernetes.Interface, m managerOptions) error {
	all := rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: m.ServiceAccount, Namespace: m.Namespace}}
	rbac := kc.RbacV1()
	if len(m.Namespaces) == 0 || m.ClusterResources {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: managerRole},
			Rules: []rbacv1.PolicyRule{all, {NonResourceURLs: []string{"*"}, Verbs: []string{"*"}}}}
		if err := upsertObject(m.Log, "ClusterRole "+managerRole, func() error {
			_, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
			return err
		}, func() error {
			live, err := rbac.ClusterRoles().Get(ctx, managerRole, metav1.GetOptions{})
			if err == nil {
				live.Rules = role.Rules
				_, err = rbac.ClusterRoles().Update(ctx, live, metav1.UpdateOptions{})
			}
			return err
		}); err != nil {
			return err
		}
		binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: managerRole + "-binding"},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: managerRole}, Subjects: subjects}
		if err := upsertObject(m.Log, "ClusterRoleBinding "+binding.Name, func() error {
			_, err := rbac.ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
			return err
		}, func() error {
			live, err := rbac.ClusterRoleBindings().Get(ctx, binding.Name, metav1.GetOptions{})
			if err == nil {
				live.Subjects = subjects
				_, err = rbac.ClusterRoleBindings().Update(ctx, live, metav1.UpdateOptions{})
			}
			return err
		}); err != nil {
			return err
		}
	}
	for _, ns := range m.Namespaces {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: managerRole, Namespace: ns}, Rules: []rbacv1.PolicyRule{all}}
		if _, err := rbac.Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create Role %s/%s: %w", ns, managerRole, err)
		}
		binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: managerRole + "-binding", Namespace: ns},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: managerRole}, Subjects: subjects}
		if _, err := rbac.RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create RoleBinding %s/%s: %w", ns, binding.Name, err)
		}
		fmt.Fprintf(m.Log, "Role %q and its binding ready in namespace %q\n", managerRole, ns)
	}
	return nil
}

// upsertObject creates an object, or updates it when it exists.
func upsertObject(log io.Writer, what string, create, update func() error) error {
	err := create()
	switch {
	case apierrors.IsAlreadyExists(err):
		if err := retry.RetryOnConflict(retry.DefaultRetry, update); err != nil {
			return fmt.Errorf("update %s: %w", what, err)
		}
		fmt.Fprintf(log, "%s updated\n", what)
	case err != nil:
		return fmt.Errorf("create %s: %w", what, err)
	default:
		fmt.Fprintf(log, "%s created\n", what)
	}
	return nil
}
