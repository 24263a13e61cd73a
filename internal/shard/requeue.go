package shard

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Requeue is a controller source that, each time the members change,
// enqueues every object of list's kind that reader (the manager's cache)
// holds: each reconcile then checks Owns, so the new owner of an object
// takes it up and the old one lets it go. With a nil Membership (sharding
// off) the source never enqueues anything.
func (m *Membership) Requeue(reader client.Reader, list client.ObjectList) source.Source {
	if m == nil {
		return source.Func(func(context.Context, workqueue.TypedRateLimitingInterface[reconcile.Request]) error { return nil })
	}
	notices := m.Subscribe()
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-notices:
				}
				l := list.DeepCopyObject().(client.ObjectList)
				if err := reader.List(ctx, l); err != nil {
					log.FromContext(ctx).Info("cannot requeue after a membership change", "error", err.Error())
					continue
				}
				_ = meta.EachListItem(l, func(o runtime.Object) error {
					if obj, ok := o.(client.Object); ok {
						q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
					}
					return nil
				})
			}
		}()
		return nil
	})
}
