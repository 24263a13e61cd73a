package diff

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/itchyny/gojq"
)

// A jqPathExpression is written by whoever may edit an Application, and
// runs inside Tether. Its time is bounded (DefaultJQTimeout); its memory
// is bounded in two ways:
//
//   - Before it is compiled, operations that allocate without bound in a
//     single step are refused: string repetition ("a" * 1e9 makes a
//     gigabyte at once), assignment (.[1e8] = 1 makes an array of a
//     hundred million entries), setpath and the builtins built on it
//     (pick, fromstream), and function definitions (recursion). What is
//     left allocates step by step, each step in proportion to what it
//     reads, and a path expression for ignoreDifferences needs none of it.
//   - While it runs, the runtime's count of allocated bytes is watched and
//     the expression is stopped past DefaultJQMaxBytes. Evaluations run one
//     at a time, so that the process-wide count measures one expression;
//     an honest one takes microseconds.

// DefaultJQMaxBytes bounds the bytes one jq expression may allocate on
// one object.
const DefaultJQMaxBytes = 128 << 20

// errJQMemory stops an expression that allocated more than its bound.
var errJQMemory = errors.New("jq expression allocated more than its memory bound")

// jqDeniedFuncs are the functions refused in jqPathExpressions, with why.
var jqDeniedFuncs = map[string]string{
	"setpath":    "setpath can allocate without bound in one step",
	"pick":       "pick is built on setpath, which can allocate without bound in one step",
	"fromstream": "fromstream is built on setpath, which can allocate without bound in one step",
	"input":      "there is no further input",
	"inputs":     "there is no further input",
	"debug":      "debug writes to Tether's own output",
	"stderr":     "stderr writes to Tether's own output",
}

// checkJQ refuses, naming it, the first construct of q that can allocate
// without bound in one step.
func checkJQ(q *gojq.Query) error {
	if q == nil {
		return nil
	}
	if len(q.FuncDefs) > 0 {
		return fmt.Errorf("function definitions (def %s) are not allowed", q.FuncDefs[0].Name)
	}
	if len(q.Imports) > 0 {
		return errors.New("imports are not allowed")
	}
	switch q.Op {
	case gojq.OpMul:
		return errors.New("the * operator is not allowed (string repetition can allocate without bound)")
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAdd, gojq.OpUpdateSub, gojq.OpUpdateMul,
		gojq.OpUpdateDiv, gojq.OpUpdateMod, gojq.OpUpdateAlt:
		return fmt.Errorf("assignment (%s) is not allowed in a path expression", q.Op)
	}
	for _, p := range q.Patterns {
		if err := checkJQPattern(p); err != nil {
			return err
		}
	}
	return firstError([]error{checkJQ(q.Left), checkJQ(q.Right), checkJQTerm(q.Term)})
}

func checkJQPattern(p *gojq.Pattern) error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, e := range p.Array {
		errs = append(errs, checkJQPattern(e))
	}
	for _, o := range p.Object {
		errs = append(errs, checkJQString(o.KeyString), checkJQ(o.KeyQuery), checkJQPattern(o.Val))
	}
	return firstError(errs)
}

func checkJQTerm(t *gojq.Term) error {
	if t == nil {
		return nil
	}
	var errs []error
	switch t.Type {
	case gojq.TermTypeReduce:
		errs = append(errs, checkJQ(t.Reduce.Query), checkJQ(t.Reduce.Start), checkJQ(t.Reduce.Update))
		for _, p := range t.Reduce.Patterns {
			errs = append(errs, checkJQPattern(p))
		}
	case gojq.TermTypeForeach:
		errs = append(errs, checkJQ(t.Foreach.Query), checkJQ(t.Foreach.Start), checkJQ(t.Foreach.Update), checkJQ(t.Foreach.Extract))
		for _, p := range t.Foreach.Patterns {
			errs = append(errs, checkJQPattern(p))
		}
	}
	if f := t.Func; f != nil {
		if why, denied := jqDeniedFuncs[f.Name]; denied {
			return fmt.Errorf("%s is not allowed: %s", f.Name, why)
		}
		for _, a := range f.Args {
			errs = append(errs, checkJQ(a))
		}
	}
	errs = append(errs, checkJQIndex(t.Index), checkJQString(t.Str), checkJQ(t.Query))
	if t.Object != nil {
		for _, kv := range t.Object.KeyVals {
			errs = append(errs, checkJQString(kv.KeyString), checkJQ(kv.KeyQuery), checkJQ(kv.Val))
		}
	}
	if t.Array != nil {
		errs = append(errs, checkJQ(t.Array.Query))
	}
	if t.Unary != nil {
		errs = append(errs, checkJQTerm(t.Unary.Term))
	}
	if i := t.If; i != nil {
		errs = append(errs, checkJQ(i.Cond), checkJQ(i.Then), checkJQ(i.Else))
		for _, e := range i.Elif {
			errs = append(errs, checkJQ(e.Cond), checkJQ(e.Then))
		}
	}
	if t.Try != nil {
		errs = append(errs, checkJQ(t.Try.Body), checkJQ(t.Try.Catch))
	}
	if t.Label != nil {
		errs = append(errs, checkJQ(t.Label.Body))
	}
	for _, s := range t.SuffixList {
		errs = append(errs, checkJQIndex(s.Index))
	}
	return firstError(errs)
}

func checkJQIndex(i *gojq.Index) error {
	if i == nil {
		return nil
	}
	return firstError([]error{checkJQString(i.Str), checkJQ(i.Start), checkJQ(i.End)})
}

func checkJQString(s *gojq.String) error {
	if s == nil {
		return nil
	}
	var errs []error
	for _, q := range s.Queries {
		errs = append(errs, checkJQ(q))
	}
	return firstError(errs)
}

// firstError is the first non-nil error: one reason is enough to refuse.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// jqSerial runs one jq evaluation at a time: the allocation count it
// watches is the process's.
var jqSerial sync.Mutex

// allocatedBytes is the runtime's count of bytes allocated so far.
func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// watchAllocations cancels ctx with errJQMemory once more than limit bytes
// were allocated after it started; the returned stop ends the watch.
func watchAllocations(cancel context.CancelCauseFunc, limit uint64) (stop func()) {
	start := allocatedBytes()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if allocatedBytes()-start > limit {
					cancel(errJQMemory)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
