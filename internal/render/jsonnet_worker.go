package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Jsonnet is a full programming language: a file may loop forever
// (`local f(x) = f(x + 1) tailstrict; f(0)`) or build values without
// end, and go-jsonnet has no way to stop an evaluation: no context, no
// step hook that callers may set. A goroutine cannot be killed either,
// so an evaluation run in the controller's own process that outlives its
// deadline would burn a core and grow memory until the process dies.
//
// Each render's .jsonnet files are therefore evaluated in a short-lived
// worker process: the running binary itself (os.Executable; a test
// binary too), started with jsonnetWorkerEnv set, which the package's
// init below turns into a worker before anything else runs. The worker
// reads a jsonnetJob on stdin and writes a jsonnetResult on stdout. It
// watches itself: past the job's Timeout or MaxMemory (its Go heap,
// sampled every few milliseconds, with the GC's soft limit set below it
// so that garbage is collected first) it answers with an error naming the
// file it was evaluating and exits. The renderer kills it a moment
// later if it does not, or at once when the caller gives up; on Linux it
// also dies with its parent and is the kernel's first choice when memory
// runs out. The cost is one process start per render that has Jsonnet
// files (renders are cached, so once per revision and options).
const jsonnetWorkerEnv = "TETHER_JSONNET_WORKER"

func init() {
	if os.Getenv(jsonnetWorkerEnv) == "1" {
		os.Exit(serveJsonnet(os.Stdin, os.Stdout))
	}
}

// Bounds of a Jsonnet evaluation, per render.
var (
	// jsonnetMaxMemory bounds the worker's Go heap.
	jsonnetMaxMemory int64 = 512 << 20
	// defaultJsonnetTimeout bounds the evaluation when Renderer.Timeout
	// is 0: Jsonnet is always bounded in time, Kustomize need not be.
	defaultJsonnetTimeout = time.Minute
)

const (
	// workerGrace is how long past its own deadline a worker has to
	// report before it is killed.
	workerGrace = 2 * time.Second
	// maxJobBytes bounds the job a worker reads (variables are in it).
	maxJobBytes = 64 << 20
	// memoryPoll is how often a worker samples its heap.
	memoryPoll = 5 * time.Millisecond
)

// jsonnetSlots bounds the workers running at once (each may use up to
// jsonnetMaxMemory).
var jsonnetSlots = semaphore.NewWeighted(int64(max(2, runtime.GOMAXPROCS(0))))

// runJsonnet evaluates job in a worker process. An evaluation error comes
// back as res.Failure; err is for a worker that could not run or report,
// or a caller that gave up (a context error).
func runJsonnet(ctx context.Context, job jsonnetJob) (res jsonnetResult, err error) {
	if err := jsonnetSlots.Acquire(ctx, 1); err != nil {
		return res, fmt.Errorf("Jsonnet in %s: %w", displayPath(job.Dir), err)
	}
	defer jsonnetSlots.Release(1)
	input, err := json.Marshal(job)
	if err != nil {
		return res, err
	}
	exe, err := workerExecutable()
	if err != nil {
		return res, fmt.Errorf("Jsonnet worker: %w", err)
	}
	kill, cancel := context.WithTimeout(ctx, job.Timeout+workerGrace)
	defer cancel()
	cmd := exec.CommandContext(kill, exe)
	cmd.Env = append(os.Environ(), jsonnetWorkerEnv+"=1")
	cmd.Stdin = bytes.NewReader(input)
	stdout := &cappedBuffer{limit: job.MaxOutput + 16<<20}
	stderr := &cappedBuffer{limit: 16 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = workerProcAttr()
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return res, fmt.Errorf("Jsonnet in %s: %w", displayPath(job.Dir), ctx.Err())
	}
	if err := json.Unmarshal(stdout.buf.Bytes(), &res); err == nil && (runErr == nil || res.Failure != nil) {
		return res, nil
	}
	switch {
	case kill.Err() != nil:
		return res, fmt.Errorf("Jsonnet in %s: the worker did not finish within %s: %w", displayPath(job.Dir), job.Timeout, ErrTimeout)
	case stdout.over:
		return res, fmt.Errorf("Jsonnet in %s: the outputs are larger than %d bytes: %w", displayPath(job.Dir), job.MaxOutput, ErrTooLarge)
	case runErr == nil:
		runErr = errors.New("no answer")
	}
	return res, fmt.Errorf("Jsonnet worker for %s: %v: %s", displayPath(job.Dir), runErr, strings.TrimSpace(stderr.buf.String()))
}

// cappedBuffer keeps up to limit bytes; a write past it fails (and the
// worker with it).
type cappedBuffer struct {
	buf   bytes.Buffer
	limit int64
	over  bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if int64(b.buf.Len()+len(p)) > b.limit {
		b.over = true
		return 0, errors.New("too much output")
	}
	return b.buf.Write(p)
}

// serveJsonnet is a worker's life: read the job, evaluate it under the
// watchdogs, answer, return the exit code.
func serveJsonnet(in io.Reader, out io.Writer) int {
	var job jsonnetJob
	if err := json.NewDecoder(io.LimitReader(in, maxJobBytes)).Decode(&job); err != nil {
		fmt.Fprintf(os.Stderr, "jsonnet worker: reading the job: %v\n", err)
		return 2
	}
	workerSelfLimits()
	a := &answer{out: out}
	var current atomic.Pointer[string]
	at := func(f string) { current.Store(&f) }
	name := func() string {
		if f := current.Load(); f != nil {
			return *f
		}
		return displayPath(job.Dir)
	}
	timer := time.AfterFunc(job.Timeout, func() {
		a.fail(fmt.Sprintf("%s: Jsonnet evaluation stopped after %s (the render timeout): does it loop forever?", name(), job.Timeout), errorKind(ErrTimeout))
	})
	defer timer.Stop()
	if job.MaxMemory > 0 {
		debug.SetMemoryLimit(job.MaxMemory * 3 / 4)
		go watchHeap(uint64(job.MaxMemory), func() {
			a.fail(fmt.Sprintf("%s: Jsonnet evaluation stopped: it used more than %d MiB of memory", name(), job.MaxMemory>>20), errorKind(ErrTooLarge))
		})
	}
	a.send(evaluateJsonnet(job, at))
	return 0
}

// answer writes the worker's one result. Whoever sends first holds the
// lock until the process exits, so a watchdog firing late cannot write
// a second one.
type answer struct {
	mu  sync.Mutex
	out io.Writer
}

func (a *answer) send(res jsonnetResult) {
	a.mu.Lock()
	if err := json.NewEncoder(a.out).Encode(res); err != nil {
		fmt.Fprintf(os.Stderr, "jsonnet worker: writing the result: %v\n", err)
		os.Exit(2)
	}
}

func (a *answer) fail(msg, kind string) {
	a.send(jsonnetResult{Failure: &jsonnetFailure{Message: msg, Kind: kind}})
	os.Exit(1)
}

// watchHeap calls over, once, when the Go heap holds more than limit
// bytes of objects.
func watchHeap(limit uint64, over func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for range time.Tick(memoryPoll) {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > limit {
			over()
			return
		}
	}
}
