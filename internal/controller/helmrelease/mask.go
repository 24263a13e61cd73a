package helmrelease

import (
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/tether-gitops/tether/api/helm/v2"
	"github.com/tether-gitops/tether/internal/redact"
)

// A HelmRelease's values from Secrets (spec.valuesFrom) reach Helm's
// errors whenever a chart quotes them, and from there its conditions,
// events and logs. The reconcile records them (setSecrets) once read;
// patchStatus, event and the reconcile's logger mask them, so that no
// message written about the object shows one.

// setSecrets records the values obj took from Secrets, to be masked in
// its messages until the next reconcile reads them again.
func (r *Reconciler) setSecrets(obj client.Object, secrets *redact.Values) {
	if secrets.Len() == 0 {
		r.forgetSecrets(obj)
		return
	}
	r.secrets.Store(client.ObjectKeyFromObject(obj), secrets)
}

// forgetSecrets drops what setSecrets recorded for obj.
func (r *Reconciler) forgetSecrets(obj client.Object) {
	r.secrets.Delete(client.ObjectKeyFromObject(obj))
}

// secretsOf returns the values to mask in the messages of the object
// named key; nil (masking nothing) when there are none.
func (r *Reconciler) secretsOf(key types.NamespacedName) *redact.Values {
	if v, ok := r.secrets.Load(key); ok {
		return v.(*redact.Values)
	}
	return nil
}

// maskConditions masks every condition message of obj.
func maskConditions(obj *helmv2.HelmRelease, secrets *redact.Values) {
	if secrets.Len() == 0 {
		return
	}
	for i := range obj.Status.Conditions {
		c := &obj.Status.Conditions[i]
		c.Message = secrets.String(c.Message)
	}
}

// maskedLogger returns base writing through a sink that masks the values
// secrets returns (read at each line) in messages, errors, and string and
// error values.
func maskedLogger(base logr.Logger, secrets func() *redact.Values) logr.Logger {
	if base.GetSink() == nil {
		return base
	}
	// One call deeper than base: the masking sink's frame.
	return logr.New(&maskingSink{sink: base.WithCallDepth(1).GetSink(), secrets: secrets})
}

// maskingSink is a logr.LogSink that masks secret values before another
// sink writes them.
type maskingSink struct {
	sink    logr.LogSink
	secrets func() *redact.Values
}

var _ logr.CallDepthLogSink = (*maskingSink)(nil)

// Init does nothing: the wrapped sink is initialised already.
func (s *maskingSink) Init(logr.RuntimeInfo) {}

func (s *maskingSink) Enabled(level int) bool { return s.sink.Enabled(level) }

func (s *maskingSink) Info(level int, msg string, keysAndValues ...any) {
	v := s.secrets()
	s.sink.Info(level, v.String(msg), maskKeysAndValues(v, keysAndValues)...)
}

func (s *maskingSink) Error(err error, msg string, keysAndValues ...any) {
	v := s.secrets()
	s.sink.Error(v.Error(err), v.String(msg), maskKeysAndValues(v, keysAndValues)...)
}

func (s *maskingSink) WithValues(keysAndValues ...any) logr.LogSink {
	return &maskingSink{sink: s.sink.WithValues(maskKeysAndValues(s.secrets(), keysAndValues)...), secrets: s.secrets}
}

func (s *maskingSink) WithName(name string) logr.LogSink {
	return &maskingSink{sink: s.sink.WithName(name), secrets: s.secrets}
}

func (s *maskingSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.sink.(logr.CallDepthLogSink); ok {
		return &maskingSink{sink: cd.WithCallDepth(depth), secrets: s.secrets}
	}
	return s
}

// maskKeysAndValues masks the values (not the keys) of a logr key/value
// list that are strings or errors; the list is copied when anything is
// masked.
func maskKeysAndValues(secrets *redact.Values, kv []any) []any {
	if secrets.Len() == 0 {
		return kv
	}
	out := kv
	copied := false
	for i := 1; i < len(kv); i += 2 {
		var masked any
		switch x := kv[i].(type) {
		case string:
			if m := secrets.String(x); m != x {
				masked = m
			}
		case error:
			if msg := x.Error(); secrets.String(msg) != msg {
				masked = secrets.Error(x)
			}
		}
		if masked == nil {
			continue
		}
		if !copied {
			out, copied = append([]any(nil), kv...), true
		}
		out[i] = masked
	}
	return out
}
