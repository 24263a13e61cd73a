// Package testenv starts a real Kubernetes control plane for tests: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok with one
// fake node, each a separate process on free loopback ports. The binaries
// are built by hack/testcluster/build.sh (`make testcluster`) into
// .local/testcluster/bin; TETHER_TESTCLUSTER_BIN points elsewhere.
//
// Start one cluster per test package, from TestMain, and share it:
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) {
//		os.Exit(testenv.Main(m, testenv.Options{}, &env))
//	}
//
// Every process runs in its own process group and is told to die with the
// test binary (Linux's parent-death signal), so a failed, panicking or
// timed-out test leaves nothing behind. Ports are chosen by the kernel, so
// several packages may run clusters at the same time.
//
// The admin's *rest.Config is Env.Config. AddUser mints a client
// certificate for any user name and groups, for RBAC tests; Options.Users
// declares bearer-token users up front.
package testenv
