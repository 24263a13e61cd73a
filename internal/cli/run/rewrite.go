package run

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tether-gitops/tether/internal/urlrewrite"
)

// rewriter holds the URL rewrite rules in force; they change when the
// rewrite ConfigMap does.
type rewriter struct {
	rules atomic.Pointer[urlrewrite.Rules]
}

func newRewriter(rules urlrewrite.Rules) *rewriter {
	r := &rewriter{}
	r.rules.Store(&rules)
	return r
}

// Rewrite applies the current rules to u.
func (r *rewriter) Rewrite(u string) string { return r.rules.Load().Rewrite(u) }

// rewriteWatcher re-reads the rewrite ConfigMap every few seconds and
// merges its rules over the flags' rules.
type rewriteWatcher struct {
	reader client.Reader
	ref    string
	flags  urlrewrite.Rules
	target *rewriter
	every  time.Duration
}

// Start polls until ctx ends. A missing or invalid ConfigMap keeps the
// rules in force and is logged.
func (w *rewriteWatcher) Start(ctx context.Context) error {
	ns, name, ok := strings.Cut(w.ref, "/")
	if !ok || ns == "" || name == "" {
		return fmt.Errorf("--url-rewrite-configmap %q: want NAMESPACE/NAME", w.ref)
	}
	every := w.every
	if every == 0 {
		every = 10 * time.Second
	}
	logger := log.FromContext(ctx).WithValues("configMap", w.ref)
	last := ""
	for {
		var cm corev1.ConfigMap
		err := w.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &cm)
		switch {
		case apierrors.IsNotFound(err):
			if last != "" {
				w.target.rules.Store(&w.flags)
				last = ""
				logger.Info("URL rewrite ConfigMap removed; using the flags' rules only")
			}
		case err != nil:
			logger.Error(err, "read URL rewrite ConfigMap")
		case cm.Data["rules"] != last:
			rules, err := urlrewrite.FromConfigMapData(cm.Data)
			if err != nil {
				logger.Error(err, "invalid URL rewrite ConfigMap; keeping the rules in force")
				break
			}
			merged := w.flags.Merge(rules)
			w.target.rules.Store(&merged)
			last = cm.Data["rules"]
			logger.Info("URL rewrite rules loaded", "rules", merged.Len())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// NeedLeaderElection is false: every replica fetches.
func (w *rewriteWatcher) NeedLeaderElection() bool { return false }
