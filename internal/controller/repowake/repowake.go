// Package repowake wakes the objects that read a Git repository as soon as
// Tether's shared Git fetcher sees that repository's references move,
// whoever asked it to look: an Application's refresh, a GitRepository's
// poll. Without it each consumer learns of a push only at its own next
// poll (Argo CD's three minutes, a GitRepository's interval).
package repowake

import (
	"context"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/tether-gitops/tether/internal/source/git"
)

// listTimeout bounds the listing of consumers after a repository moved.
const listTimeout = 30 * time.Second

// Consumers returns the objects that read the repository key (see Key).
type Consumers func(ctx context.Context, key string) []client.Object

// Watch makes c reconcile, at once, every object consumers returns for a
// repository whose references just moved.
func Watch(c controller.Controller, f *git.Fetcher, consumers Consumers) error {
	wake := make(chan event.GenericEvent, 1024)
	f.OnChange(func(fetched string) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
			defer cancel()
			for _, obj := range consumers(ctx, spell(fetched)) {
				select {
				case wake <- event.GenericEvent{Object: obj}:
				case <-ctx.Done():
					return
				}
			}
		}()
	})
	return c.Watch(source.Channel(wake, &handler.EnqueueRequestForObject{}))
}

// Key is the key under which Watch reports url's repository: the URL
// fetched (after the fetcher's rewrite), without a ".git" suffix or
// trailing slash, case-insensitive, so that spellings Argo CD treats as
// one repository match.
func Key(f *git.Fetcher, url string) string { return spell(f.Key(url)) }

func spell(url string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(url, "/"), ".git"))
}
