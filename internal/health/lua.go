package health

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// Bounds of one Lua health script run. A script is written by whoever may
// edit argocd-cm, but it reads objects anyone with write access to a
// managed namespace shapes, so it runs in a small sandbox: base, table,
// string and math libraries only (no io, os, package, load or dofile), a
// time limit, and bounded call and data stacks.
const (
	// LuaTimeout bounds one run; a script still running then is Unknown.
	LuaTimeout       = time.Second
	luaCallStack     = 200
	luaRegistryMax   = 1 << 16
	maxLuaScriptSize = 64 << 10
)

// argocd-cm keys that carry health scripts.
const (
	// healthKeyPrefix precedes "<group>_<kind>" (group empty for the core
	// group; either part may be a glob such as "*.crossplane.io" or "*").
	healthKeyPrefix = "resource.customizations.health."
	// customizationsKey holds the older YAML form:
	// "<group>/<kind>: {health.lua: ...}".
	customizationsKey = "resource.customizations"
)

// Scripts are Argo CD's custom health checks in Lua, from the argocd-cm
// ConfigMap, compiled once. The zero value has none. It is safe for
// concurrent use.
type Scripts struct {
	exact map[schema.GroupKind]*luaScript
	globs []globScript // most specific first
	// states reuses interpreter states: resetting one is cheap, making
	// one is not.
	states sync.Pool
}

type globScript struct {
	group, kind string
	script      *luaScript
}

type luaScript struct {
	key   string // the argocd-cm key, for messages
	proto *lua.FunctionProto
	err   error // why it does not compile; objects of its kind are Unknown
}

// ScriptsFromConfigMap compiles the health scripts in the data of an
// argocd-cm ConfigMap: keys "resource.customizations.health.<group>_<kind>"
// and the older "resource.customizations" YAML block with "health.lua"
// entries (the per-kind keys win). It always returns the scripts it could
// read, and an error naming each key it could not: a script that does not
// compile still claims its kind, whose objects are then Unknown with the
// compile error as their message, so a typo never turns a health check
// off silently or takes the other scripts down.
func ScriptsFromConfigMap(data map[string]string) (*Scripts, error) {
	s := &Scripts{exact: map[schema.GroupKind]*luaScript{}}
	s.states.New = func() any { return newLuaState() }
	var errs []error
	add := func(key, groupKind, source string) {
		group, kind, ok := splitGroupKind(groupKind)
		if !ok {
			errs = append(errs, fmt.Errorf("argocd-cm %s: %q is not <group>_<kind>", key, groupKind))
			return
		}
		sc, err := compileLua(key, source)
		if err != nil {
			errs = append(errs, err)
			sc = &luaScript{key: key, err: err}
		}
		if strings.ContainsAny(group+kind, "*?[") {
			s.globs = append(s.globs, globScript{group: group, kind: kind, script: sc})
		} else {
			s.exact[schema.GroupKind{Group: group, Kind: kind}] = sc
		}
	}
	if block := data[customizationsKey]; block != "" {
		var old map[string]struct {
			Health string `json:"health.lua"`
		}
		if err := yaml.Unmarshal([]byte(block), &old); err != nil {
			errs = append(errs, fmt.Errorf("argocd-cm %s: %w", customizationsKey, err))
		}
		for gk, c := range old {
			if c.Health != "" {
				add(customizationsKey+"."+gk, strings.Replace(gk, "/", "_", 1), c.Health)
			}
		}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if gk, ok := strings.CutPrefix(k, healthKeyPrefix); ok {
			add(k, gk, data[k])
		}
	}
	// More specific globs first: fewer wildcard characters, then by text.
	sort.SliceStable(s.globs, func(i, j int) bool {
		wi := strings.Count(s.globs[i].group+s.globs[i].kind, "*")
		wj := strings.Count(s.globs[j].group+s.globs[j].kind, "*")
		if wi != wj {
			return wi < wj
		}
		return s.globs[i].group+"/"+s.globs[i].kind < s.globs[j].group+"/"+s.globs[j].kind
	})
	return s, errors.Join(errs...)
}

// splitGroupKind splits "<group>_<kind>" at its last underscore (kinds
// have none; groups rarely do).
func splitGroupKind(s string) (group, kind string, ok bool) {
	i := strings.LastIndex(s, "_")
	if i < 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func compileLua(key, source string) (*luaScript, error) {
	if len(source) > maxLuaScriptSize {
		return nil, fmt.Errorf("argocd-cm %s: the script is larger than %d bytes", key, maxLuaScriptSize)
	}
	chunk, err := parse.Parse(strings.NewReader(source), key)
	if err != nil {
		return nil, fmt.Errorf("argocd-cm %s: %w", key, err)
	}
	proto, err := lua.Compile(chunk, key)
	if err != nil {
		return nil, fmt.Errorf("argocd-cm %s: %w", key, err)
	}
	return &luaScript{key: key, proto: proto}, nil
}

// Len is how many scripts there are.
func (s *Scripts) Len() int {
	if s == nil {
		return 0
	}
	return len(s.exact) + len(s.globs)
}

// scriptFor returns the script for a group and kind, or nil.
func (s *Scripts) scriptFor(gk schema.GroupKind) *luaScript {
	if s == nil {
		return nil
	}
	if sc := s.exact[gk]; sc != nil {
		return sc
	}
	for _, g := range s.globs {
		if globMatch(g.group, gk.Group) && globMatch(g.kind, gk.Kind) {
			return g.script
		}
	}
	return nil
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// AssessWith is Assess with custom scripts: a script for the object's
// group and kind decides its health, before any built-in rule, as in
// Argo CD. A script that fails, runs too long or returns no valid status
// makes the object Unknown, with the reason as its message and error.
func AssessWith(ctx context.Context, scripts *Scripts, obj *unstructured.Unstructured) (*Result, error) {
	sc := scripts.scriptFor(obj.GroupVersionKind().GroupKind())
	if sc == nil {
		return Assess(obj)
	}
	res, err := scripts.run(ctx, sc, obj)
	if err != nil {
		err = fmt.Errorf("health script %s on %s %s: %w", sc.key, obj.GetKind(), objectName(obj), err)
		return &Result{Status: Unknown, Message: err.Error()}, err
	}
	return res, nil
}

func newLuaState() *lua.LState {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: luaCallStack, RegistryMaxSize: luaRegistryMax})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, unsafe := range []string{"dofile", "loadfile", "load", "loadstring", "require", "module", "collectgarbage"} {
		L.SetGlobal(unsafe, lua.LNil)
	}
	return L
}

// run runs the script with the object as the global obj and reads the
// table it returns: {status = "...", message = "..."}.
func (s *Scripts) run(ctx context.Context, sc *luaScript, obj *unstructured.Unstructured) (*Result, error) {
	if sc.err != nil {
		return nil, sc.err
	}
	ctx, cancel := context.WithTimeout(ctx, LuaTimeout)
	defer cancel()
	L := s.states.Get().(*lua.LState)
	L.SetContext(ctx)
	L.SetGlobal("obj", toLua(L, obj.Object))
	fn := L.NewFunctionFromProto(sc.proto)
	L.Push(fn)
	err := L.PCall(0, 1, nil)
	var ret lua.LValue = lua.LNil
	if err == nil {
		ret = L.Get(-1)
		L.Pop(1)
	}
	res, convErr := resultOf(ret)
	L.SetGlobal("obj", lua.LNil)
	L.SetGlobal("hs", lua.LNil)
	L.RemoveContext()
	if err == nil && ctx.Err() == nil {
		s.states.Put(L) // a state stopped mid-run is not reused
	} else {
		L.Close()
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("did not finish within %s", LuaTimeout)
	case err != nil:
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) && apiErr.Object != nil {
			return nil, errors.New(apiErr.Object.String()) // without the stack traceback
		}
		return nil, err
	case convErr != nil:
		return nil, convErr
	}
	return res, nil
}

// resultOf reads a script's returned table.
func resultOf(v lua.LValue) (*Result, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("returned %s, not a table with status and message", v.Type())
	}
	status := Status(lua.LVAsString(t.RawGetString("status")))
	switch status {
	case Healthy, Suspended, Progressing, Missing, Degraded, Unknown:
	default:
		return nil, fmt.Errorf("returned status %q, not one of Healthy, Progressing, Degraded, Suspended, Missing, Unknown", status)
	}
	return &Result{Status: status, Message: lua.LVAsString(t.RawGetString("message"))}, nil
}

// toLua turns a decoded JSON value into a Lua value: objects and arrays
// become tables (arrays indexed from 1), numbers Lua numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case map[string]any:
		t := L.CreateTable(0, len(v))
		for k, x := range v {
			t.RawSetString(k, toLua(L, x))
		}
		return t
	case []any:
		t := L.CreateTable(len(v), 0)
		for _, x := range v {
			t.Append(toLua(L, x))
		}
		return t
	default:
		return lua.LString(fmt.Sprint(v))
	}
}
