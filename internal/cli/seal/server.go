package seal

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/cli/apiclient"
	"github.com/tether-gitops/tether/internal/cli/connect"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
)

// maxCert bounds a certificate read from a URL.
const maxCert = 64 << 10

// reEncrypt sends the SealedSecret in data to the API server's /v1/rotate
// and writes the answer, sealed with the newest key, as YAML.
func reEncrypt(ctx context.Context, conn *connect.Options, data []byte, out io.Writer) error {
	ss, api, err := sealedAndAPI(conn, data, "--re-encrypt")
	if err != nil {
		return err
	}
	var resealed ssv1.SealedSecret
	if err := api.Do(ctx, http.MethodPost, "/v1/rotate", ss, &resealed); err != nil {
		return fmt.Errorf("re-encrypt SealedSecret %s/%s: %w", ss.Namespace, ss.Name, explain(err, "rotate", ss))
	}
	if resealed.Kind != "SealedSecret" || len(resealed.Spec.EncryptedData) != len(ss.Spec.EncryptedData) {
		return fmt.Errorf("re-encrypt SealedSecret %s/%s: the server answered something else than the SealedSecret sealed again", ss.Namespace, ss.Name)
	}
	y, err := yaml.Marshal(&resealed)
	if err != nil {
		return err
	}
	_, err = out.Write(y)
	return err
}

// validate asks the API server's /v1/verify whether the SealedSecret in
// data opens; nil when it does.
func validate(ctx context.Context, conn *connect.Options, data []byte) error {
	ss, api, err := sealedAndAPI(conn, data, "--validate")
	if err != nil {
		return err
	}
	if err := api.Do(ctx, http.MethodPost, "/v1/verify", ss, nil); err != nil {
		return fmt.Errorf("validate SealedSecret %s/%s: %w", ss.Namespace, ss.Name, explain(err, "get", ss))
	}
	return nil
}

// sealedAndAPI reads the one SealedSecret of data and a client of the API
// server the user logged in to.
func sealedAndAPI(conn *connect.Options, data []byte, flag string) (*ssv1.SealedSecret, *apiclient.Client, error) {
	ss, err := sealedsecrets.ParseSealedSecret(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", flag, err)
	}
	if conn == nil {
		return nil, nil, fmt.Errorf("%s needs the API server: run `tether login SERVER` or pass --server", flag)
	}
	api, err := conn.API()
	if err != nil {
		return nil, nil, fmt.Errorf("%s needs the API server: %w", flag, err)
	}
	return ss, api, nil
}

// explain adds what to do next to the API server's refusals.
func explain(err error, action string, ss *ssv1.SealedSecret) error {
	var e *apiclient.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w: log in with `tether login SERVER` (or pass --auth-token)", err)
	case http.StatusForbidden:
		return fmt.Errorf("%w: your account needs \"sealedsecrets, %s, %s/%s\" in argocd-rbac-cm", err, action, ss.Namespace, ss.Name)
	}
	return err
}

// isURL reports whether --cert names an http(s) URL rather than a file.
func isURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// fetchCertURL reads a PEM certificate from url, as kubeseal --cert URL
// does; insecure (--insecure) accepts any server certificate.
func fetchCertURL(ctx context.Context, url string, insecure bool) ([]byte, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked with --insecure
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: transport}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCert+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(data) > maxCert {
		return nil, fmt.Errorf("GET %s: the answer is larger than a certificate (%d bytes)", url, maxCert)
	}
	return data, nil
}
