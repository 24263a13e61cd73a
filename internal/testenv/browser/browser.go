// Package browser drives Debian's headless Chromium through the DevTools
// protocol (chromedp) for the UI's end-to-end tests and benchmarks: open a
// page, wait for a condition written in JavaScript, click, fetch from the
// page's session, and save screenshots at a desktop and a phone width.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tether-gitops/tether/internal/testenv"
)

// Browser is one headless Chromium on one site.
type Browser struct {
	// T fails on errors; set it to a subtest's while that one runs.
	T    testing.TB
	ctx  context.Context
	base string
	// Dir is where screenshots go: .local/ui-screenshots/ of the
	// repository.
	Dir string
}

// New starts a headless Chromium with a fresh profile for the site at
// base; it is closed when the test ends.
func New(t testing.TB, base string) *Browser {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the UI tests need Debian's chromium (make prereqs installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// performance.memory tells the heap to the byte (benchmarks).
		chromedp.Flag("enable-precise-memory-info", true),
		// The test's API server has a self-signed certificate.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".local", "ui-screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &Browser{T: t, ctx: ctx, base: base, Dir: dir}
}

// Run runs actions with a deadline, failing the test on an error.
func (b *Browser) Run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.T.Fatalf("%s: %v", what, err)
	}
}

// Open loads a path of the UI.
func (b *Browser) Open(path string) {
	b.T.Helper()
	b.Run("open "+path, chromedp.Navigate(b.base+path))
}

// Eval evaluates a JavaScript expression, waiting for it when it is a
// promise.
func Eval[T any](b *Browser, js string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// WaitFor waits until the JavaScript expression is true, and fails the
// test with the page's text otherwise.
func (b *Browser) WaitFor(what, js string, timeout time.Duration) {
	b.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := Eval[bool](b, "Boolean("+js+")")
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.T.Fatalf("not within %s: %s (last error %v); the page says:\n%s", timeout, what, err, b.Text("body"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Text is the visible text of the first element matching selector.
func (b *Browser) Text(selector string) string {
	s, _ := Eval[string](b, fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, selector))
	return s
}

// Click clicks the first element matching selector.
func (b *Browser) Click(selector string) {
	b.T.Helper()
	b.WaitFor("something to click at "+selector, fmt.Sprintf(`document.querySelector(%q)`, selector), 30*time.Second)
	b.Run("click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// Screenshots saves the page at 1280 and 390 px wide (the second as a
// phone: mobile layout, touch), as <name>-<width>.png.
func (b *Browser) Screenshots(name string) {
	b.T.Helper()
	for _, w := range []int64{1280, 390} {
		viewport := chromedp.EmulateViewport(w, 900)
		if w < 600 {
			viewport = chromedp.EmulateViewport(w, 900, chromedp.EmulateMobile)
		}
		b.Run("screenshot "+name, viewport, chromedp.Sleep(300*time.Millisecond)) // let the layout settle
		ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			b.T.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(b.Dir, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644); err != nil {
			b.T.Fatal(err)
		}
	}
	b.Run("back to the desktop width", chromedp.ResetViewport())
}

// Login signs in through the login page.
func (b *Browser) Login(user, password string) {
	b.T.Helper()
	b.Open("/login")
	b.WaitFor("the login form", `document.querySelector('input[name=username]')`, 30*time.Second)
	b.Run("log in as "+user,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.WaitFor("the app list after login as "+user, `document.querySelector('table.apps')`, 30*time.Second)
}

// FetchStatus sends a request from the page (with its session cookie) and
// returns the status code.
func (b *Browser) FetchStatus(method, path, body string) int {
	b.T.Helper()
	js := fmt.Sprintf(`fetch(%s, {method: %s, headers: {"Content-Type": "application/json"}, body: %s || undefined, credentials: "same-origin"}).then(r => r.status)`,
		JSString(path), JSString(method), JSString(body))
	status, err := Eval[int](b, js)
	if err != nil {
		b.T.Fatalf("fetch %s %s: %v", method, path, err)
	}
	return status
}

// JSString quotes s for JavaScript.
func JSString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Contains is a JavaScript test that the element matching selector shows
// text.
func Contains(selector, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q)].some(e => e.innerText.includes(%s))`, selector, JSString(text))
}
