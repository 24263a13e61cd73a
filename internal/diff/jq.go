package diff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/itchyny/gojq"
)

// DefaultJQTimeout bounds one jq expression on one object, as Argo CD's
// default (one second); an expression that runs longer is skipped.
const DefaultJQTimeout = time.Second

// compileJQ compiles expr as Argo CD does, into "del(expr)". The bare
// expression must parse on its own first, so that text such as
// ".a) | .b = 1 | del(.c" cannot close the del( early and run as a
// rewrite of the object instead of a removal.
func compileJQ(expr string) (*gojq.Code, error) {
	bare, err := gojq.Parse(expr)
	if err != nil {
		return nil, err
	}
	if err := checkJQ(bare); err != nil {
		return nil, err
	}
	q, err := gojq.Parse("del(" + expr + ")")
	if err != nil {
		return nil, err
	}
	// No module loader, environment loader or input iterator is given, so
	// an expression cannot read files, $ENV or further inputs.
	return gojq.Compile(q)
}

// errJQNoObject reports a jq result that is not a single JSON object.
var errJQNoObject = errors.New("jq result is not a single object")

// runJQ applies code to obj and returns the new content. Any error (a
// runtime error such as iterating over null, a timeout, more than maxBytes
// allocated, no result, several results, or a result that is not an
// object) is returned for the caller to skip this expression for this
// object, as Argo CD does.
func runJQ(code *gojq.Code, obj map[string]any, timeout time.Duration, maxBytes uint64) (_ map[string]any, err error) {
	// gojq panics on Go types outside JSON's; content built by hand could
	// hold one, and that must not take the controller down.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jq cannot read this object: %v", r)
		}
	}()
	input := toJQ(obj)
	jqSerial.Lock()
	defer jqSerial.Unlock()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	defer cancelTimeout()
	stop := watchAllocations(cancel, maxBytes)
	iter := code.RunWithContext(ctx, input)
	first, ok := iter.Next()
	var more bool
	if ok {
		_, more = iter.Next()
	}
	stop()
	if context.Cause(ctx) == errJQMemory {
		return nil, fmt.Errorf("stopped after allocating more than %d MiB", maxBytes>>20)
	}
	if !ok {
		return nil, errJQNoObject
	}
	if err, isErr := first.(error); isErr {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("timed out after %s", timeout)
		}
		// Render the message here, under the recover: gojq builds it
		// lazily and can panic doing so.
		return nil, errors.New(err.Error())
	}
	if more {
		return nil, errJQNoObject
	}
	out, isMap := fromJQ(first).(map[string]any)
	if !isMap {
		return nil, errJQNoObject
	}
	return out, nil
}

// toJQ copies unstructured content into the value types gojq accepts: its
// numbers are int, float64 and *big.Int, while unstructured content holds
// int64.
func toJQ(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = toJQ(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = toJQ(e)
		}
		return l
	case int64:
		return int(t)
	case int32:
		return int(t)
	case float32:
		return float64(t)
	default:
		return v
	}
}

// fromJQ turns a gojq result back into unstructured content, whose integers
// are int64.
func fromJQ(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = fromJQ(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = fromJQ(e)
		}
		return t
	case int:
		return int64(t)
	case *big.Int:
		if t.IsInt64() {
			return t.Int64()
		}
		f, _ := new(big.Float).SetInt(t).Float64()
		return f
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	default:
		return v
	}
}
