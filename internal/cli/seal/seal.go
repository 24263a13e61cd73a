// Package seal implements `tether seal`, kubeseal's job: a Secret in, a
// SealedSecret out, sealed with the certificate of the cluster's sealing
// key (from a file or URL, or fetched from the cluster), so that only the
// cluster's controller (Tether's or Bitnami's) can open it. With
// --re-encrypt (or --validate) a SealedSecret goes to the API server's
// /v1/rotate (or /v1/verify) instead, as kubeseal sends it to the
// controller's.
package seal

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
)

// maxInput bounds the Secret read from the input.
const maxInput = 4 << 20

// Options are the flags of `tether seal`.
type Options struct {
	// CertFile is a PEM certificate file, or an http(s) URL of one such
	// as the API server's /v1/cert.pem ("-" never: stdin is the Secret).
	CertFile string
	// FetchCert reads the newest key's certificate from the cluster.
	FetchCert bool
	// KeysNamespace holds the key Secrets (kube-system, as Bitnami's).
	KeysNamespace string
	// Scope is strict, namespace-wide or cluster-wide.
	Scope string
	// Raw seals one value (from stdin) for Namespace and Name and prints
	// the base64 ciphertext.
	Raw             bool
	Namespace, Name string
	// ReEncrypt sends a SealedSecret to the API server's /v1/rotate and
	// writes it back sealed with the newest key (kubeseal --re-encrypt).
	ReEncrypt bool
	// Validate asks the API server's /v1/verify whether a SealedSecret
	// opens (kubeseal --validate).
	Validate bool
	// InFile and OutFile replace stdin and stdout when set (kubeseal's
	// --secret-file and --sealed-secret-file).
	InFile, OutFile string
}

// NewCmd returns the `seal` command.
func NewCmd(conn *connect.Options) *cobra.Command {
	o := &Options{KeysNamespace: "kube-system", Scope: "strict"}
	cmd := &cobra.Command{
		Use:   "seal",
		Short: "Seal a Secret (YAML or JSON on stdin) into a SealedSecret, as kubeseal does",
		Long: `Seal reads a Secret from standard input and writes a SealedSecret that only
the cluster's Sealed Secrets controller (Tether's, or Bitnami's) can open:

  kubectl create secret generic db --from-literal=password=s3cret --dry-run=client -o yaml |
    tether seal --fetch-cert > db-sealed.yaml

--cert takes the certificate from a file (kubeseal --fetch-cert writes one)
or a URL such as https://TETHER/v1/cert.pem; --fetch-cert reads the newest
key's certificate from the cluster. With --raw one value read from standard
input is sealed for --namespace and --name (and --scope) and printed as
base64, for spec.encryptedData.

--re-encrypt reads a SealedSecret and writes it sealed again with the
cluster's newest key, by the API server you logged in to (its /v1/rotate;
the sealedsecrets rotate right is needed); the values never leave the
server. --validate asks whether a SealedSecret opens (/v1/verify):

  tether seal --re-encrypt < db-sealed.yaml > db-resealed.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			return Run(ctx, o, conn, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.CertFile, "cert", o.CertFile, "PEM certificate of the sealing key: a file, or an http(s) URL such as https://TETHER/v1/cert.pem")
	f.BoolVar(&o.FetchCert, "fetch-cert", o.FetchCert, "read the certificate of the newest sealing key from the cluster")
	f.StringVar(&o.KeysNamespace, "controller-namespace", o.KeysNamespace, "namespace of the sealing keys (with --fetch-cert)")
	f.StringVar(&o.Scope, "scope", o.Scope, "strict, namespace-wide or cluster-wide")
	f.BoolVar(&o.Raw, "raw", o.Raw, "seal one value from stdin for --namespace and --name, print its base64")
	f.StringVarP(&o.Namespace, "namespace", "n", o.Namespace, "namespace of the Secret (--raw, or when the Secret names none)")
	f.StringVar(&o.Name, "name", o.Name, "name of the Secret (--raw)")
	f.BoolVar(&o.ReEncrypt, "re-encrypt", o.ReEncrypt, "seal a SealedSecret again with the newest key, by the API server (/v1/rotate)")
	f.BoolVar(&o.Validate, "validate", o.Validate, "check that a SealedSecret opens, by the API server (/v1/verify)")
	f.StringVar(&o.InFile, "secret-file", o.InFile, "read the Secret (or SealedSecret) from this file instead of stdin")
	f.StringVar(&o.OutFile, "sealed-secret-file", o.OutFile, "write the SealedSecret to this file instead of stdout")
	conn.AddFlags(f) // --kubeconfig for --fetch-cert; --server, --auth-token, --insecure for --re-encrypt, --validate and --cert URL
	return cmd
}

// Run seals what in holds and writes the result to out (or reads and
// writes o.InFile and o.OutFile when set).
func Run(ctx context.Context, o *Options, conn *connect.Options, in io.Reader, out io.Writer) error {
	data, err := readInput(o, in)
	if err != nil {
		return err
	}
	var result bytes.Buffer
	switch {
	case o.ReEncrypt && o.Validate:
		return errors.New("give --re-encrypt or --validate, not both")
	case o.ReEncrypt:
		err = reEncrypt(ctx, conn, data, &result)
	case o.Validate:
		return validate(ctx, conn, data)
	default:
		err = seal(ctx, o, conn, data, &result)
	}
	if err != nil {
		return err
	}
	if o.OutFile != "" {
		return os.WriteFile(o.OutFile, result.Bytes(), 0o644)
	}
	_, err = out.Write(result.Bytes())
	return err
}

// readInput reads o.InFile, or in, up to maxInput bytes.
func readInput(o *Options, in io.Reader) ([]byte, error) {
	if o.InFile != "" {
		f, err := os.Open(o.InFile)
		if err != nil {
			return nil, fmt.Errorf("--secret-file: %w", err)
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("the input is larger than %d bytes", maxInput)
	}
	return data, nil
}

// seal seals the Secret in data (or, with --raw, one value).
func seal(ctx context.Context, o *Options, conn *connect.Options, data []byte, out io.Writer) error {
	scope, err := sealedsecrets.ParseScope(o.Scope)
	if err != nil {
		return fmt.Errorf("--scope: %w", err)
	}
	pub, err := certificate(ctx, o, conn)
	if err != nil {
		return err
	}
	if o.Raw {
		if (scope != sealedsecrets.ClusterWideScope && o.Namespace == "") || (scope == sealedsecrets.StrictScope && o.Name == "") {
			return errors.New("--raw needs --namespace, and --name for the strict scope")
		}
		sealed, err := sealedsecrets.Seal(pub, scope, o.Namespace, o.Name, data)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, base64.StdEncoding.EncodeToString(sealed))
		return err
	}
	ss, err := SealSecret(pub, scope, data, o.Namespace)
	if err != nil {
		return err
	}
	y, err := yaml.Marshal(ss)
	if err != nil {
		return err
	}
	_, err = out.Write(y)
	return err
}

// SealSecret seals a Secret (YAML or JSON) into a SealedSecret; namespace
// is used when the Secret names none. Errors never quote the input.
func SealSecret(pub *rsa.PublicKey, scope sealedsecrets.Scope, data []byte, namespace string) (*ssv1.SealedSecret, error) {
	var s corev1.Secret
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		if err := yaml.Unmarshal(data, &s); err != nil {
			return nil, errors.New("the input is not a Secret in YAML or JSON")
		}
	}
	if s.Kind != "" && s.Kind != "Secret" {
		return nil, fmt.Errorf("the input is a %s, not a Secret", s.Kind)
	}
	if s.Namespace == "" {
		s.Namespace = namespace
	}
	if s.Name == "" || (scope != sealedsecrets.ClusterWideScope && s.Namespace == "") {
		return nil, errors.New("the Secret needs a name, and a namespace (in it or with --namespace) unless the scope is cluster-wide")
	}
	values := map[string][]byte{}
	for k, v := range s.Data {
		values[k] = v
	}
	for k, v := range s.StringData {
		values[k] = []byte(v)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ss := &ssv1.SealedSecret{TypeMeta: metav1.TypeMeta{APIVersion: ssv1.GroupVersion.String(), Kind: "SealedSecret"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace,
			Annotations: sealedsecrets.ScopeAnnotations(nil, scope)},
		Spec: ssv1.SealedSecretSpec{EncryptedData: map[string]string{}}}
	for _, k := range keys {
		sealed, err := sealedsecrets.Seal(pub, scope, s.Namespace, s.Name, values[k])
		if err != nil {
			return nil, fmt.Errorf("seal %s: %w", k, err)
		}
		ss.Spec.EncryptedData[k] = base64.StdEncoding.EncodeToString(sealed)
	}
	// The template keeps what the Secret said of itself, without what the
	// API server or kubectl added.
	tmpl := s.ObjectMeta.DeepCopy()
	tmpl.Name, tmpl.Namespace = "", ""
	tmpl.UID, tmpl.ResourceVersion, tmpl.CreationTimestamp, tmpl.ManagedFields, tmpl.OwnerReferences = "", "", metav1.Time{}, nil, nil
	delete(tmpl.Annotations, corev1.LastAppliedConfigAnnotation)
	ss.Spec.Template = ssv1.SecretTemplateSpec{ObjectMeta: *tmpl, Type: string(s.Type)}
	return ss, nil
}

// certificate reads the public key from --cert or the cluster.
func certificate(ctx context.Context, o *Options, conn *connect.Options) (*rsa.PublicKey, error) {
	var pemData []byte
	switch {
	case o.CertFile != "" && o.FetchCert:
		return nil, errors.New("give --cert or --fetch-cert, not both")
	case isURL(o.CertFile):
		data, err := fetchCertURL(ctx, o.CertFile, conn != nil && conn.Insecure)
		if err != nil {
			return nil, fmt.Errorf("--cert: %w", err)
		}
		pemData = data
	case o.CertFile != "":
		data, err := os.ReadFile(o.CertFile)
		if err != nil {
			return nil, fmt.Errorf("--cert: %w", err)
		}
		pemData = data
	case o.FetchCert:
		c, err := conn.Kube()
		if err != nil {
			return nil, err
		}
		if pemData, err = newestCert(ctx, c, o.KeysNamespace); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("give --cert FILE or --fetch-cert")
	}
	pub, err := sealedsecrets.PublicKeyFromCertPEM(bytes.TrimSpace(pemData), time.Now())
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return pub, nil
}

// newestCert is the certificate of the newest active key in namespace,
// the one the controller seals with and serves at /v1/cert.pem.
func newestCert(ctx context.Context, c client.Client, namespace string) ([]byte, error) {
	var list corev1.SecretList
	if err := c.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{sealedsecrets.KeyLabel: sealedsecrets.KeyLabelActive}); err != nil {
		return nil, fmt.Errorf("list the sealing keys in %s: %w", namespace, err)
	}
	pairs, _ := sealedsecrets.KeyPairs(list.Items) // a Secret that cannot be read is left out
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no sealing key in %s: is the controller running?", namespace)
	}
	return pairs[0].CertificatePEM, nil
}
