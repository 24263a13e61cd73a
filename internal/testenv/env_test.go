package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

var env *Env

func TestMain(m *testing.M) {
	os.Exit(Main(m, Options{Audit: true, Users: []User{{Name: "alice", Token: "alice-token", Groups: []string{"team-a", "readers"}}}}, &env))
}

func needEnv(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	if env == nil {
		t.Skip("no cluster with -short")
	}
	return kubernetes.NewForConfigOrDie(env.Config)
}

func TestDeploymentBecomesAvailable(t *testing.T) {
	client := needEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := waitFor(ctx, "deployment web Available", func(ctx context.Context) error {
		d, err := client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue && d.Status.AvailableReplicas == replicas {
				return nil
			}
		}
		return fmt.Errorf("available %d/%d", d.Status.AvailableReplicas, replicas)
	})
	if err != nil {
		t.Fatal(err)
	}
	events, err := env.AuditEvents()
	if err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, e := range events {
		if e.IsWrite() && e.Verb == "create" && strings.HasSuffix(e.RequestURI, "/namespaces/default/deployments") && e.User.Username == "admin" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("audit log shows %d deployment creates by admin, want 1", creates)
	}
	pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != env.NodeName || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s on node %q in phase %s; want Running on %s", p.Name, p.Spec.NodeName, p.Status.Phase, env.NodeName)
		}
	}
}

// TestUsersAndRBAC checks that token users and certificate users are
// authenticated with their groups and that RBAC applies to them.
func TestUsersAndRBAC(t *testing.T) {
	admin := needEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bob, err := env.AddUser("bob", "team-b")
	if err != nil {
		t.Fatal(err)
	}
	alice := rest.CopyConfig(env.Config)
	alice.BearerToken = "alice-token"

	for name, cfg := range map[string]*rest.Config{"alice": alice, "bob": bob} {
		_, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("%s listed configmaps without a grant: err = %v", name, err)
		}
	}
	// Grant group team-b (not user bob) read access to configmaps.
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "cm-reader", Namespace: "default"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "team-b-cm-reader", Namespace: "default"},
		Subjects:   []rbacv1.Subject{{Kind: "Group", Name: "team-b", APIGroup: "rbac.authorization.k8s.io"}},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: "cm-reader", APIGroup: "rbac.authorization.k8s.io"},
	}
	if _, err := admin.RbacV1().Roles("default").Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings("default").Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = waitFor(ctx, "bob may list configmaps", func(ctx context.Context) error {
		_, err := kubernetes.NewForConfigOrDie(bob).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kubernetes.NewForConfigOrDie(bob).CoreV1().ConfigMaps("default").Create(ctx,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("bob created a configmap with a read-only grant: err = %v", err)
	}
	if _, err := kubernetes.NewForConfigOrDie(alice).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice (team-a) got team-b's grant: err = %v", err)
	}

	// Who does the API server think they are?
	for name, want := range map[string][]string{"alice": {"alice", "team-a", "readers"}, "bob": {"bob", "team-b"}} {
		cfg := map[string]*rest.Config{"alice": alice, "bob": bob}[name]
		review, err := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnSelfReview, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := append([]string{review.Status.UserInfo.Username}, review.Status.UserInfo.Groups...)
		for _, w := range want {
			if !strings.Contains(strings.Join(got, ","), w) {
				t.Errorf("%s: identity %v lacks %q", name, got, w)
			}
		}
	}
}

// TestStopLeavesNoProcess starts a second cluster beside the package's and
// checks that Stop ends every one of its processes.
func TestStopLeavesNoProcess(t *testing.T) {
	needEnv(t)
	second, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	pids := second.Pids()
	if len(pids) != 5 {
		t.Fatalf("started %d processes, want 5", len(pids))
	}
	second.Stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still running after Stop", pid)
		}
	}
	if _, err := os.Stat(second.Dir); !os.IsNotExist(err) {
		t.Errorf("temporary dir %s not removed: %v", second.Dir, err)
	}
}

var authnSelfReview = authnv1.SelfSubjectReview{}

// TestPanicLeavesNoProcess runs a test binary that starts a cluster and
// panics, and checks that the cluster's processes die with it.
func TestPanicLeavesNoProcess(t *testing.T) {
	needEnv(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartAndPanic$", "-test.short", "-test.v")
	cmd.Env = append(os.Environ(), "TESTENV_PANIC_HELPER=1")
	out, _ := cmd.CombinedOutput()
	var pids []int
	for _, line := range strings.Split(string(out), "\n") {
		if dir, ok := strings.CutPrefix(line, "DIR "); ok {
			t.Cleanup(func() { os.RemoveAll(dir) })
		}
		if rest, ok := strings.CutPrefix(line, "PIDS "); ok {
			for _, f := range strings.Fields(rest) {
				pid, _ := strconv.Atoi(f)
				pids = append(pids, pid)
			}
		}
	}
	if len(pids) != 5 || !strings.Contains(string(out), "panic: on purpose") {
		t.Fatalf("helper did not start 5 processes and panic:\n%s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d outlived the panicking test binary", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestHelperStartAndPanic is the child of TestPanicLeavesNoProcess.
func TestHelperStartAndPanic(t *testing.T) {
	if os.Getenv("TESTENV_PANIC_HELPER") != "1" {
		t.Skip("only run as a helper process")
	}
	e, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("DIR %s\nPIDS %s\n", e.Dir, strings.Trim(fmt.Sprint(e.Pids()), "[]"))
	panic("on purpose")
}
