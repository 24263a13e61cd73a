package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestTreeCacheReadsOnce: the builds of one source (one content key) read
// its files once, concurrent callers included; other keys, a byte budget
// and an LRU bound what is kept; a failed read is not kept.
func TestTreeCacheReadsOnce(t *testing.T) {
	root := writeTree(t, map[string]string{"a/kustomization.yaml": fmt.Sprintf(kustomizationOf, "resources: [cm.yaml]\n"), "a/cm.yaml": fmt.Sprintf(configMap, "cm")})
	c := newTreeCache(2, 1<<20)
	var wg sync.WaitGroup
	trees := make([]*tree, 20)
	for i := range trees {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := c.load(context.Background(), root, "digest-1", 1<<20)
			if err != nil {
				t.Error(err)
			}
			trees[i] = tr
		}()
	}
	wg.Wait()
	for _, tr := range trees {
		if tr != trees[0] {
			t.Fatal("concurrent loads of one key read the source more than once")
		}
	}
	if len(trees[0].files) != 2 || c.bytes != trees[0].bytes || c.bytes == 0 {
		t.Errorf("%d files, cache holds %d bytes of a %d-byte tree", len(trees[0].files), c.bytes, trees[0].bytes)
	}
	// Two more keys: the least recently used one goes.
	for _, k := range []string{"digest-2", "digest-3"} {
		if _, err := c.load(context.Background(), root, k, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.entries["digest-1\x00"+root+"\x001048576"]; ok || len(c.entries) != 2 || c.bytes != 2*trees[0].bytes {
		t.Errorf("after 3 keys in a cache of 2: %d entries, %d bytes", len(c.entries), c.bytes)
	}
	// A tree over the byte budget is read for each caller, not kept.
	small := newTreeCache(8, 10)
	if _, err := small.load(context.Background(), root, "digest-1", 1<<20); err != nil || len(small.entries) != 0 || small.bytes != 0 {
		t.Errorf("a tree over the budget: err %v, %d entries, %d bytes", err, len(small.entries), small.bytes)
	}
	// A failed read is not kept: the source can be fixed under the same key.
	missing := filepath.Join(t.TempDir(), "not-yet")
	if _, err := c.load(context.Background(), missing, "digest-9", 1<<20); err == nil {
		t.Fatal("read a missing folder")
	}
	if err := os.MkdirAll(missing, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := c.load(context.Background(), missing, "digest-9", 1<<20); err != nil {
		t.Errorf("a failed read was kept: %v", err)
	}
}

// A build does not change the cached tree: each gets its own file system.
func TestTreeFSIsACopy(t *testing.T) {
	root := writeTree(t, map[string]string{"a/cm.yaml": fmt.Sprintf(configMap, "cm")})
	tr, err := readTree(context.Background(), root, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	fs1, _ := tr.fs()
	if err := fs1.WriteFile(mountDir+"/a/cm.yaml", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	fs2, _ := tr.fs()
	if data, _ := fs2.ReadFile(mountDir + "/a/cm.yaml"); string(data) == "changed" {
		t.Error("a write to one build's file system reached the cached tree")
	}
}
