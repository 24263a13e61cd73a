// Command kubeseal-vector seals a Secret with Bitnami's own kubeseal code
// (github.com/bitnami/sealed-secrets/pkg/kubeseal, v0.40.0): the
// certificate is read by kubeseal.ParseKey and the Secret sealed by
// kubeseal.Seal, exactly as `kubeseal --cert FILE` does, minus the CLI.
// Tether's tests build it and check that Tether's controller opens what it
// writes.
//
//	kubeseal-vector --cert cert.pem [--scope strict|namespace-wide|cluster-wide] < secret.yaml > sealed.yaml
//
// It lives in a module of its own so that Tether's go.mod never depends
// on Bitnami's.
package main

import (
	"flag"
	"fmt"
	"os"

	ssv1alpha1 "github.com/bitnami/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/bitnami/sealed-secrets/pkg/kubeseal"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// namespaceOnly is the kubeconfig kubeseal would read, reduced to the
// default namespace it lends a Secret that names none.
type namespaceOnly string

func (n namespaceOnly) ClientConfig() (*rest.Config, error) {
	return nil, fmt.Errorf("kubeseal-vector talks to no cluster")
}

func (n namespaceOnly) Namespace() (string, bool, error) { return string(n), n != "", nil }

func main() {
	certFile := flag.String("cert", "", "PEM certificate of the sealing key")
	namespace := flag.String("namespace", "", "namespace of a Secret that names none")
	format := flag.String("format", "yaml", "json or yaml")
	var scope ssv1alpha1.SealingScope
	flag.Var(&scope, "scope", "strict, namespace-wide or cluster-wide")
	flag.Parse()
	if err := run(*certFile, *namespace, *format, scope); err != nil {
		fmt.Fprintln(os.Stderr, "kubeseal-vector:", err)
		os.Exit(1)
	}
}

func run(certFile, namespace, format string, scope ssv1alpha1.SealingScope) error {
	f, err := os.Open(certFile)
	if err != nil {
		return err
	}
	defer f.Close()
	pub, err := kubeseal.ParseKey(f)
	if err != nil {
		return err
	}
	return kubeseal.Seal(namespaceOnly(namespace), format, os.Stdin, os.Stdout, scheme.Codecs, pub, scope, false, "", "")
}
