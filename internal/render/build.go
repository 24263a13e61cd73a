package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// abandoned counts builds still running after their context ended.
// Go cannot stop them; past maxAbandoned, new builds are refused rather
// than piling up behind a pathological kustomization (CVE-2022-24878).
var abandoned atomic.Int32

const maxAbandoned = 4

var errBusy = errors.New("kustomize: too many builds still running past their deadline; retry later")

// deadlineKey carries Renderer.Timeout to build in a context.
type deadlineKey struct{}

// withBuildTimeout bounds the kustomize builds under ctx by d (0: no
// bound) from the moment each starts, not while it waits for its turn.
func withBuildTimeout(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, deadlineKey{}, d)
}

// build runs kustomize on dir, on the file system fsFor returns for the
// build's context, giving up when ctx ends or the build outlives the
// timeout withBuildTimeout set (ErrTimeout). Builds run side by side,
// except one whose source may set kustomize's OpenAPI schema (alone),
// which runs by itself (see gate). Plugins, exec and container functions
// and Helm are off; files load from anywhere in the file system (which
// holds only the source), as in Flux.
func build(ctx context.Context, fsFor func(context.Context) filesys.FileSystem, dir string, alone bool) (resmap.ResMap, error) {
	if abandoned.Load() >= maxAbandoned {
		return nil, errBusy
	}
	if err := buildGate.acquire(ctx, alone); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", relPath(dir), err)
	}
	outer := ctx
	timeout, _ := ctx.Value(deadlineKey{}).(time.Duration)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	fs := fsFor(ctx)
	failed := func() error {
		if outer.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// Not a context error: the caller is still waiting, and the
			// next attempt would take as long.
			return fmt.Errorf("kustomize build %s: %w (%s)", relPath(dir), ErrTimeout, timeout)
		}
		return fmt.Errorf("kustomize build %s: %w", relPath(dir), ctx.Err())
	}
	type outcome struct {
		m   resmap.ResMap
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var out outcome
		defer func() {
			if r := recover(); r != nil {
				out = outcome{err: fmt.Errorf("kustomize panicked: %v", r)}
			}
			done <- out
		}()
		k := krusty.MakeKustomizer(&krusty.Options{
			Reorder:          krusty.ReorderOptionNone,
			LoadRestrictions: kustypes.LoadRestrictionsNone,
			PluginConfig:     kustypes.DisabledPluginConfig(),
		})
		out.m, out.err = k.Run(fs, dir)
	}()
	select {
	case out := <-done:
		buildGate.release(alone)
		if ctx.Err() != nil {
			return nil, failed()
		}
		if out.err != nil {
			return nil, kustomizeError(dir, out.err)
		}
		return out.m, nil
	case <-ctx.Done():
		// Let the next build start; kustomize's own schema lock keeps the
		// abandoned one from corrupting memory, at worst from being right.
		// Let the next build start (a pathological build may never end);
		// kustomize's own schema lock keeps the abandoned one from
		// corrupting memory, and its result is thrown away.
		abandoned.Add(1)
		buildGate.release(alone)
		go func() { <-done; abandoned.Add(-1) }()
		return nil, failed()
	}
}

// kustomizeError names files relative to the source root in kustomize's
// messages.
func kustomizeError(dir string, err error) error {
	msg := strings.ReplaceAll(err.Error(), mountDir+"/", "")
	msg = strings.ReplaceAll(msg, mountDir, ".")
	return &buildError{msg: fmt.Sprintf("kustomize build %s: %s", relPath(dir), msg), err: err}
}

type buildError struct {
	msg string
	err error
}

func (e *buildError) Error() string { return e.msg }
func (e *buildError) Unwrap() error { return e.err }
