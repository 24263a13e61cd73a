package testenv

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/resource"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Main starts a cluster, stores it in *env, runs the package's tests and
// stops the cluster. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, testenv.Options{}, &env)) }
//
// With `go test -short` no cluster is started and *env stays nil; tests
// that need it should call t.Skip in that case.
func Main(m *testing.M, opts Options, env **Env) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	// The tests' controller-runtime clients log nothing worth reading;
	// without a logger controller-runtime prints a stack trace instead.
	ctrllog.SetLogger(logr.Discard())
	if testing.Short() {
		return m.Run()
	}
	if opts.Logf == nil {
		opts.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	e, err := Start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	*env = e
	defer e.Stop()
	defer removeTetherBinary()

	// An interrupted test run stops the cluster in order; a killed one
	// relies on the parent-death signal set on every process.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		e.Stop()
		fmt.Fprintf(os.Stderr, "testenv: stopped the cluster on %v\n", s)
		os.Exit(2)
	}()
	return m.Run()
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
