package bucket

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
	sourcev1 "github.com/tether-gitops/tether/api/source/v1"
	"github.com/tether-gitops/tether/internal/redact"
	"github.com/tether-gitops/tether/internal/source/bucket"
)

func TestSupported(t *testing.T) {
	keys := &meta.LocalObjectReference{Name: "keys"}
	for _, tc := range []struct {
		name string
		spec sourcev1.BucketSpec
		want string // "" when supported
	}{
		{name: "generic by default", spec: sourcev1.BucketSpec{}},
		{name: "generic with keys", spec: sourcev1.BucketSpec{Provider: "generic", SecretRef: keys}},
		{name: "aws with keys", spec: sourcev1.BucketSpec{Provider: "aws", SecretRef: keys}},
		{name: "aws identity", spec: sourcev1.BucketSpec{Provider: "aws"}, want: "provider 'aws' without spec.secretRef"},
		{name: "gcp", spec: sourcev1.BucketSpec{Provider: "gcp", SecretRef: keys}, want: "provider 'gcp' is not supported"},
		{name: "azure", spec: sourcev1.BucketSpec{Provider: "azure"}, want: "provider 'azure' is not supported"},
		{name: "sts", spec: sourcev1.BucketSpec{STS: &sourcev1.BucketSTSSpec{Provider: "ldap", Endpoint: "https://sts"}}, want: "spec.sts is not supported"},
		{name: "service account", spec: sourcev1.BucketSpec{ServiceAccountName: "sa"}, want: "spec.serviceAccountName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := supported(&sourcev1.Bucket{Spec: tc.spec})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("supported: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("supported = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFetchFailure(t *testing.T) {
	obj := func(secret string) *sourcev1.Bucket {
		b := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}}
		if secret != "" {
			b.Spec.SecretRef = &meta.LocalObjectReference{Name: secret}
		}
		return b
	}
	denied := fmt.Errorf("check bucket 'b' at 'host': %w: the server refused the credentials (SignatureDoesNotMatch)", bucket.ErrAuthentication)
	for _, tc := range []struct {
		name    string
		obj     *sourcev1.Bucket
		err     error
		reason  string
		stalled bool
		says    string
	}{
		{name: "refused keys", obj: obj("keys"), err: denied, reason: sourcev1.AuthenticationFailedReason, says: "in secret 'ns/keys'"},
		{name: "refused anonymous", obj: obj(""), err: denied, reason: sourcev1.AuthenticationFailedReason, says: "refuses anonymous access"},
		{name: "missing bucket", obj: obj("keys"), err: fmt.Errorf("x: %w", bucket.ErrBucketNotFound), reason: sourcev1.BucketOperationFailedReason, says: "bucket not found"},
		{name: "invalid", obj: obj("keys"), err: fmt.Errorf("x: %w", bucket.ErrInvalid), reason: sourcev1.BucketOperationFailedReason, stalled: true},
		{name: "unreachable", obj: obj(""), err: errors.New("dial tcp: connection refused"), reason: sourcev1.BucketOperationFailedReason, says: "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f *failure
			if !errors.As(fetchFailure(tc.obj, tc.err), &f) {
				t.Fatal("not a failure")
			}
			if f.reason != tc.reason || f.stalled != tc.stalled || f.condition != sourcev1.FetchFailedCondition {
				t.Errorf("reason %s stalled %v condition %s", f.reason, f.stalled, f.condition)
			}
			if !strings.Contains(f.Error(), tc.says) {
				t.Errorf("message %q does not say %q", f.Error(), tc.says)
			}
		})
	}
}

func TestMaskFailureKeepsReason(t *testing.T) {
	var masks redact.Values
	masks.AddSecretData(map[string][]byte{"secretkey": []byte("s3cr3t-value")})
	in := authFailure(errors.New("server said s3cr3t-value is wrong"))
	var f *failure
	if !errors.As(maskFailure(&masks, in), &f) {
		t.Fatal("lost the failure")
	}
	if f.reason != sourcev1.AuthenticationFailedReason || strings.Contains(f.Error(), "s3cr3t-value") {
		t.Errorf("got %s: %q", f.reason, f.Error())
	}
}
