package conditions

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/api/meta"
)

type fakeObject struct {
	generation int64
	conds      []metav1.Condition
}

func (f *fakeObject) GetGeneration() int64               { return f.generation }
func (f *fakeObject) GetConditions() []metav1.Condition  { return f.conds }
func (f *fakeObject) SetConditions(c []metav1.Condition) { f.conds = c }

func TestLifecycle(t *testing.T) {
	obj := &fakeObject{generation: 3}
	type want struct{ ready, reconciling, stalled string }
	steps := []struct {
		name string
		do   func()
		want want
	}{
		{"reconciling", func() { MarkReconciling(obj, meta.ProgressingReason, "fetching %s", "u") }, want{"Unknown", "True", ""}},
		{"retryable failure", func() { MarkFailed(obj, false, "GitOperationFailed", "boom") }, want{"False", "True", ""}},
		{"reconciling keeps Ready=False", func() { MarkReconciling(obj, meta.ProgressingReason, "again") }, want{"False", "True", ""}},
		{"ready", func() { MarkReady(obj, meta.SucceededReason, "ok") }, want{"True", "", ""}},
		{"stalled", func() { MarkFailed(obj, true, "URLInvalid", "bad url") }, want{"False", "", "True"}},
	}
	for _, s := range steps {
		s.do()
		got := want{}
		for _, c := range obj.conds {
			switch c.Type {
			case meta.ReadyCondition:
				got.ready = string(c.Status)
			case meta.ReconcilingCondition:
				got.reconciling = string(c.Status)
			case meta.StalledCondition:
				got.stalled = string(c.Status)
			}
			if c.ObservedGeneration != 3 {
				t.Errorf("%s: %s observedGeneration = %d, want 3", s.name, c.Type, c.ObservedGeneration)
			}
		}
		if got != s.want {
			t.Errorf("%s: conditions = %+v, want %+v", s.name, got, s.want)
		}
	}
	if c := Get(obj, meta.ReadyCondition); c.Reason != "URLInvalid" || c.Message != "bad url" {
		t.Errorf("Ready = %+v", c)
	}
}
