package engine

import (
	"errors"
	"regexp"
	"strings"

	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/internal/redact"
)

// ObjectError is a failure of one object. Its message reads
// "<Source>: <Kind>/<namespace>/<name>: <what the API server said>", with
// field errors as "<field>: <problem>" and permission errors as
// "forbidden: <who cannot do what>".
type ObjectError struct {
	// Source is the file the object came from; may be empty.
	Source string
	// Subject is "<Kind>/<namespace>/<name>".
	Subject string
	// Err is the cause. For Secrets it is a copy with every value of the
	// Secret masked.
	Err error
}

// Error renders the failure for people: source, subject, problem.
func (e *ObjectError) Error() string {
	msg := e.Subject + ": " + describe(e.Err)
	if e.Source == "" {
		return msg
	}
	return e.Source + ": " + msg
}

// Unwrap returns the cause, so that apierrors.IsForbidden and friends work.
func (e *ObjectError) Unwrap() error { return e.Err }

// describe renders an API error without repeating the object's identity.
func describe(err error) string {
	var dryRun *ssaerrors.DryRunErr
	if errors.As(err, &dryRun) && dryRun.Unwrap() != nil {
		err = dryRun.Unwrap()
	}
	if meta.IsNoMatchError(err) {
		return err.Error() + ": is its CustomResourceDefinition installed?"
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return err.Error()
	}
	s := st.Status()
	switch s.Reason {
	case metav1.StatusReasonInvalid:
		if s.Details != nil && len(s.Details.Causes) > 0 {
			parts := make([]string, 0, len(s.Details.Causes))
			seen := map[string]bool{}
			for _, c := range s.Details.Causes {
				part := shorten(c.Message)
				if c.Field != "" {
					part = c.Field + ": " + part
				}
				if !seen[part] {
					seen[part] = true
					parts = append(parts, part)
				}
			}
			return strings.Join(parts, "; ")
		}
	case metav1.StatusReasonForbidden:
		msg := s.Message
		if _, after, ok := strings.Cut(msg, " is forbidden: "); ok {
			msg = after
		}
		return "forbidden: " + msg
	}
	return s.Message
}

// maxQuoted is how much of a rejected value a field error quotes.
const maxQuoted = 100

// shorten cuts the value quoted in "Invalid value: <value>: <problem>"
// to maxQuoted bytes: for a Job's template it is the whole pod spec.
func shorten(msg string) string {
	const prefix = "Invalid value: "
	i := strings.LastIndex(msg, ": ")
	if !strings.HasPrefix(msg, prefix) || i < len(prefix) || i-len(prefix) <= maxQuoted {
		return msg
	}
	return prefix + strings.ToValidUTF8(msg[len(prefix):len(prefix)+maxQuoted], "") + "...(elided)" + msg[i:]
}

// immutableDetail matches the problem part of the API server's messages
// about fields that cannot change: "field is immutable", Services'
// "may not change once set", StatefulSets' "updates to statefulset spec
// for fields other than ... are forbidden", CEL's "Value is immutable".
var immutableDetail = regexp.MustCompile(`(?i)immutable|may not change once set|updates to statefulset spec for fields other than`)

// immutableOnly reports whether a failed dry run failed only because
// fields that cannot change would change, so that deleting and
// re-creating the object (Force) makes it apply. fluxcd/pkg/ssa treats
// every Invalid error as immutable, which would delete an existing object
// whose new version is simply invalid; this looks at each field error.
func immutableOnly(err error) bool {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		s := st.Status()
		if s.Reason == metav1.StatusReasonInvalid && s.Details != nil && len(s.Details.Causes) > 0 {
			for _, c := range s.Details.Causes {
				// The problem follows the last ": "; what comes before
				// may quote the offending value, which could say anything.
				detail := c.Message
				if i := strings.LastIndex(detail, ": "); i >= 0 {
					detail = detail[i+2:]
				}
				if !immutableDetail.MatchString(detail) {
					return false
				}
			}
			return true
		}
	}
	// Admission webhooks and CEL rules: only their wording tells.
	return immutableDetail.MatchString(err.Error())
}

// redactor masks the values of a plan's Secrets in its errors. Every
// non-empty value is masked, however short: a Secret applied by the
// engine may hold anything.
type redactor struct {
	values *redact.Values // nil: no Secret yet
}

// with adds the values of Secret u, base64 and decoded.
func (r redactor) with(u *unstructured.Unstructured) redactor {
	if r.values == nil {
		r.values = &redact.Values{Min: 1}
	}
	r.values.AddSecret(u)
	return r
}

// mask replaces every known value in s with redact.Mask.
func (r redactor) mask(s string) string { return r.values.String(s) }

// leaks reports whether err holds a Secret value anywhere a caller may
// look: its message, or the full message and field errors of an
// ObjectError's cause, which Error shortens.
func (r redactor) leaks(err error) bool {
	if err == nil || r.values.Len() == 0 {
		return false
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if r.leaks(e) {
				return true
			}
		}
	}
	texts := []string{err.Error()}
	if objErr, ok := err.(*ObjectError); ok && objErr.Err != nil {
		texts = append(texts, objErr.Err.Error())
		var st apierrors.APIStatus
		if errors.As(objErr.Err, &st) {
			s := st.Status()
			texts = append(texts, s.Message)
			if s.Details != nil {
				for _, c := range s.Details.Causes {
					texts = append(texts, c.Message, c.Field)
				}
			}
		}
	}
	for _, t := range texts {
		if r.mask(t) != t {
			return true
		}
	}
	return false
}

// redactError returns err unchanged when its message holds no Secret
// value, else an error with the values masked whose Unwrap never reaches
// the original. The cause of an ObjectError stays an API error (reason,
// code and field causes kept, messages masked) so that apierrors.IsInvalid
// and friends still work; joined errors stay joined.
func (r redactor) redactError(err error) error {
	if !r.leaks(err) {
		return err
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range joined.Unwrap() {
			errs = append(errs, r.redactError(e))
		}
		return errors.Join(errs...)
	}
	if objErr, ok := err.(*ObjectError); ok {
		cause := objErr.Err
		var st apierrors.APIStatus
		if errors.As(cause, &st) {
			status := st.Status()
			s := status.DeepCopy()
			s.Message = r.mask(s.Message)
			if s.Details != nil {
				for i := range s.Details.Causes {
					s.Details.Causes[i].Message = r.mask(s.Details.Causes[i].Message)
					s.Details.Causes[i].Field = r.mask(s.Details.Causes[i].Field)
				}
			}
			cause = &apierrors.StatusError{ErrStatus: *s}
		} else {
			cause = errors.New(r.mask(describe(cause)))
		}
		return &ObjectError{Source: r.mask(objErr.Source), Subject: r.mask(objErr.Subject), Err: cause}
	}
	return errors.New(r.mask(err.Error()))
}
