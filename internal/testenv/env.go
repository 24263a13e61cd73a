package testenv

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// User is a bearer-token user that the API server knows from the start.
type User struct {
	// Name is the user name the API server authenticates.
	Name string
	// Token is the bearer token; it must not contain commas.
	Token string
	// Groups the user belongs to.
	Groups []string
}

// Options configures Start. The zero value is a good default.
type Options struct {
	// Dir holds data, certificates, kubeconfigs and logs. Empty means a
	// new temporary folder, removed by Stop.
	Dir string
	// BinDir holds the control-plane binaries. Empty means BinDir().
	BinDir string
	// Users are extra bearer-token users; see also Env.AddUser.
	Users []User
	// StartTimeout bounds the whole start; default 3 minutes.
	StartTimeout time.Duration
	// Logf, when set, receives progress messages.
	Logf func(format string, args ...any)
	// Audit makes the API server write an audit log of every request's
	// metadata, readable with Env.AuditEvents (to count requests).
	Audit bool
}

// Env is a running control plane.
type Env struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file for the admin.
	KubeconfigPath string
	// Dir holds the cluster's files; logs are in Dir/logs.
	Dir string
	// NodeName is the name of the kwok fake node.
	NodeName string

	ca       *authority
	auditLog string
	spawner  *spawner
	procs    []*process // in start order
	// apiserver is how the kube-apiserver was started, for
	// RestartAPIServer.
	apiserver struct {
		index    int // in procs
		bin, log string
		args     []string
		restarts int
	}
	removeDir bool
	stopOnce  sync.Once
}

const adminToken = "tether-testenv-admin"

// Start starts etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, creates a fake node and waits until the cluster
// can run a Deployment. On error nothing is left running.
func Start(opts Options) (env *Env, err error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 3 * time.Minute
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin := opts.BinDir
	if bin == "" {
		if bin, err = BinDir(); err != nil {
			return nil, err
		}
	} else if err := checkBinaries(bin); err != nil {
		return nil, err
	}
	env = &Env{Dir: opts.Dir, NodeName: "kwok-node-0", spawner: newSpawner()}
	if env.Dir == "" {
		if env.Dir, err = os.MkdirTemp("", "tether-testenv-"); err != nil {
			return nil, fmt.Errorf("testenv: %w", err)
		}
		env.removeDir = true
	}
	defer func() {
		if err != nil {
			env.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()

	files, err := env.writeFiles(opts.Users)
	if err != nil {
		return env, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return env, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	logs := filepath.Join(env.Dir, "logs")

	logf("testenv: starting etcd on %s", etcdURL)
	etcd, err := env.start("etcd", filepath.Join(bin, "etcd"), logs,
		"--data-dir", filepath.Join(env.Dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL,
		"--unsafe-no-fsync", "--log-level", "warn")
	if err != nil {
		return env, err
	}
	if err := waitFor(ctx, "etcd", httpOK(etcdURL+"/health"), etcd); err != nil {
		return env, err
	}

	host := "https://127.0.0.1:" + strconv.Itoa(ports[2])
	logf("testenv: starting kube-apiserver on %s", host)
	var audit []string
	if opts.Audit {
		if err := os.MkdirAll(logs, 0o755); err != nil {
			return env, err
		}
		if audit, err = env.auditArgs(); err != nil {
			return env, err
		}
	}
	apiserverArgs := append(audit,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(ports[2]),
		"--cert-dir", filepath.Join(env.Dir, "pki"),
		"--tls-cert-file", files.servingCert, "--tls-private-key-file", files.servingKey,
		"--client-ca-file", files.caCert,
		"--token-auth-file", files.tokens,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", files.saPub,
		"--service-account-signing-key-file", files.saKey,
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=1")
	env.apiserver.index, env.apiserver.bin, env.apiserver.log, env.apiserver.args = len(env.procs), filepath.Join(bin, "kube-apiserver"), logs, apiserverArgs
	apiserver, err := env.start("kube-apiserver", env.apiserver.bin, logs, apiserverArgs...)
	if err != nil {
		return env, err
	}
	env.Config = &rest.Config{
		Host:            host,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: env.ca.certPEM},
		QPS:             200,
		Burst:           400,
	}
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		return env, fmt.Errorf("testenv: client: %w", err)
	}
	if err := waitFor(ctx, "kube-apiserver /readyz", func(ctx context.Context) error {
		return client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	}, apiserver); err != nil {
		return env, err
	}
	env.KubeconfigPath = filepath.Join(env.Dir, "kubeconfig")
	if err := WriteKubeconfig(env.Config, env.KubeconfigPath); err != nil {
		return env, err
	}

	logf("testenv: starting kube-controller-manager, kube-scheduler and kwok")
	if _, err := env.start("kube-controller-manager", filepath.Join(bin, "kube-controller-manager"), logs,
		"--kubeconfig", env.KubeconfigPath, "--leader-elect=false", "--controllers", "*",
		"--service-account-private-key-file", files.saKey, "--root-ca-file", files.caCert,
		"--secure-port", "0", "--v=1"); err != nil {
		return env, err
	}
	if _, err := env.start("kube-scheduler", filepath.Join(bin, "kube-scheduler"), logs,
		"--kubeconfig", env.KubeconfigPath, "--leader-elect=false", "--secure-port", "0", "--v=1"); err != nil {
		return env, err
	}
	if _, err := env.start("kwok", filepath.Join(bin, "kwok"), logs,
		"--kubeconfig", env.KubeconfigPath, "--config", filepath.Join(bin, "kwok-stages.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-lease-duration-seconds=40",
		"--cidr=10.0.0.1/24", "--node-ip=10.0.0.1"); err != nil {
		return env, err
	}
	if err := env.createNode(ctx, client); err != nil {
		return env, err
	}
	if err := waitFor(ctx, "node Ready and default service account", func(ctx context.Context) error {
		return clusterUsable(ctx, client, env.NodeName)
	}, env.procs...); err != nil {
		return env, err
	}
	logf("testenv: cluster ready at %s (files in %s)", host, env.Dir)
	return env, nil
}

// Stop stops every process in reverse start order (the API server before
// etcd) and removes a temporary Dir. It is safe to call more than once.
func (e *Env) Stop() {
	if e == nil {
		return
	}
	e.stopOnce.Do(func() {
		for i := len(e.procs) - 1; i >= 0; i-- {
			e.procs[i].stop(10 * time.Second)
		}
		e.spawner.close()
		if e.removeDir {
			_ = os.RemoveAll(e.Dir)
		}
	})
}

// RestartAPIServer kills the kube-apiserver (SIGKILL: no graceful
// shutdown), keeps it down for down, starts it again with the same flags,
// address and etcd data, and waits until it is ready. Its log goes to
// logs/kube-apiserver-<n>.log.
func (e *Env) RestartAPIServer(ctx context.Context, down time.Duration) error {
	old := e.procs[e.apiserver.index]
	_ = syscall.Kill(-old.cmd.Process.Pid, syscall.SIGKILL)
	<-old.done
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	e.apiserver.restarts++
	p, err := e.spawner.start(fmt.Sprintf("kube-apiserver-%d", e.apiserver.restarts), e.apiserver.bin, e.apiserver.log, e.apiserver.args...)
	if err != nil {
		return err
	}
	e.procs[e.apiserver.index] = p
	client, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return err
	}
	return waitFor(ctx, "kube-apiserver /readyz after a restart", func(ctx context.Context) error {
		return client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	}, p)
}

// AddUser returns a client configuration for user name in groups,
// authenticated by a client certificate signed by the cluster's CA. The
// user has no rights until RBAC grants them.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, error) {
	cert, key, err := e.ca.issue(pkix.Name{CommonName: name, Organization: groups}, false)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return &rest.Config{
		Host: e.Config.Host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: e.ca.certPEM, CertData: cert, KeyData: key,
		},
		QPS:   e.Config.QPS,
		Burst: e.Config.Burst,
	}, nil
}

// Pids returns the process ids of the running control-plane programs.
func (e *Env) Pids() []int {
	var pids []int
	for _, p := range e.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return pids
}

func (e *Env) start(name, bin, logDir string, args ...string) (*process, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	p, err := e.spawner.start(name, bin, logDir, args...)
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	return p, nil
}

// clusterFiles are the paths written by writeFiles.
type clusterFiles struct {
	caCert, servingCert, servingKey, saKey, saPub, tokens string
}

func (e *Env) writeFiles(users []User) (clusterFiles, error) {
	pki := filepath.Join(e.Dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return clusterFiles{}, fmt.Errorf("testenv: %w", err)
	}
	f := clusterFiles{
		caCert:      filepath.Join(pki, "ca.crt"),
		servingCert: filepath.Join(pki, "serving.crt"),
		servingKey:  filepath.Join(pki, "serving.key"),
		saKey:       filepath.Join(pki, "sa.key"),
		saPub:       filepath.Join(pki, "sa.pub"),
		tokens:      filepath.Join(pki, "tokens.csv"),
	}
	var err error
	if e.ca, err = newAuthority(); err != nil {
		return f, err
	}
	cert, key, err := e.ca.issue(pkix.Name{CommonName: "kube-apiserver"}, true)
	if err != nil {
		return f, err
	}
	var tokens strings.Builder
	fmt.Fprintf(&tokens, "%s,admin,admin,\"system:masters\"\n", adminToken)
	for _, u := range users {
		if strings.ContainsAny(u.Token+u.Name, ",\"\n") {
			return f, fmt.Errorf("testenv: user %q: name and token must not contain commas, quotes or newlines", u.Name)
		}
		fmt.Fprintf(&tokens, "%s,%s,%s,\"%s\"\n", u.Token, u.Name, u.Name, strings.Join(u.Groups, ","))
	}
	for path, data := range map[string][]byte{
		f.caCert: e.ca.certPEM, f.servingCert: cert, f.servingKey: key, f.tokens: []byte(tokens.String()),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return f, fmt.Errorf("testenv: %w", err)
		}
	}
	return f, writeServiceAccountKeys(f.saKey, f.saPub)
}

func (e *Env) createNode(ctx context.Context, client kubernetes.Interface) error {
	capacity := corev1.ResourceList{}
	for name, qty := range map[corev1.ResourceName]string{"cpu": "32", "memory": "256Gi", "pods": "1000"} {
		capacity[name] = mustQuantity(qty)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        e.NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"kubernetes.io/hostname": e.NodeName, "type": "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	_, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("testenv: create fake node: %w", err)
	}
	return nil
}

// clusterUsable is nil once the fake node is Ready and the default service
// account exists, which is when a Deployment can run.
func clusterUsable(ctx context.Context, client kubernetes.Interface, nodeName string) error {
	node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		return fmt.Errorf("node %s not Ready yet", nodeName)
	}
	_, err = client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
	return err
}

// WriteKubeconfig writes cfg as a kubeconfig file with one context.
func WriteKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["testenv"] = &clientcmdapi.AuthInfo{
		Token: cfg.BearerToken, ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData,
	}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "testenv"}
	kc.CurrentContext = "testenv"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

func httpOK(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testenv: free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
