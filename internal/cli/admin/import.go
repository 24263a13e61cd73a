package admin

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/internal/engine"
)

// fieldManager owns what `tether admin import` writes.
const fieldManager = "tether-import"

// maxDocument bounds one document of an import stream.
const maxDocument = 16 << 20

// Decode reads the objects of a YAML or JSON stream: documents separated
// by "---", each one object or a List of objects (what `kubectl get -o
// yaml` prints). source names the stream in errors and in each Input,
// with the document's number among the non-empty ones.
func Decode(r io.Reader, source string) ([]engine.Input, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReaderSize(r, 4096), 4096)
	var out []engine.Input
	for n := 1; ; n++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, n, err)
		}
		if len(doc) == 0 {
			continue
		}
		where := fmt.Sprintf("%s (document %d)", source, n)
		u := &unstructured.Unstructured{Object: doc}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("%s: items: %w", where, err)
			}
			for i := range list.Items {
				in, err := input(&list.Items[i], fmt.Sprintf("%s (document %d, item %d)", source, n, i+1))
				if err != nil {
					return nil, err
				}
				out = append(out, in)
			}
			continue
		}
		in, err := input(u, where)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
}

// input checks that u names an object and returns it cleaned.
func input(u *unstructured.Unstructured, where string) (engine.Input, error) {
	switch {
	case u.GetAPIVersion() == "":
		return engine.Input{}, fmt.Errorf("%s: apiVersion: missing", where)
	case u.GetKind() == "":
		return engine.Input{}, fmt.Errorf("%s: kind: missing", where)
	case u.GetName() == "":
		return engine.Input{}, fmt.Errorf("%s: metadata.name: missing (%s)", where, u.GetKind())
	}
	Clean(u)
	return engine.Input{Obj: u, Source: where}, nil
}

// ImportOptions tunes Import.
type ImportOptions struct {
	// DryRun reports what Import would do and writes nothing.
	DryRun bool
}

// Import restores objs into the cluster of c with server-side apply, in
// restore order, creating the Namespaces they need that neither the
// cluster nor objs hold. It goes through the engine: every object is
// validated by a dry run before anything is written (objects in a
// Namespace the import creates, right after that Namespace), so a bad
// document fails the import with nothing of it applied. Objects already
// in the cluster as desired are left untouched (a restore over a cluster
// whose workloads survived re-creates nothing), and nothing is ever
// deleted.
func Import(ctx context.Context, c client.Client, objs []engine.Input, opts ImportOptions) ([]engine.Change, error) {
	inStream := map[string]bool{}
	for _, in := range objs {
		if in.Obj.GroupVersionKind().GroupKind().String() == "Namespace" {
			inStream[in.Obj.GetName()] = true
		}
	}
	ordered := append([]engine.Input(nil), objs...)
	missing, checked := map[string]bool{}, map[string]bool{}
	for _, in := range objs {
		ns := in.Obj.GetNamespace()
		if ns == "" || checked[ns] {
			continue
		}
		checked[ns] = true
		err := c.Get(ctx, client.ObjectKey{Name: ns}, &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}})
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("get Namespace %s: %w", ns, err)
		}
		missing[ns] = true
		if !inStream[ns] {
			nsObj := &unstructured.Unstructured{}
			nsObj.SetAPIVersion("v1")
			nsObj.SetKind("Namespace")
			nsObj.SetName(ns)
			ordered = append(ordered, engine.Input{Obj: nsObj, Source: "the namespace of " + in.Source})
		}
	}
	if err := validateInMissingNamespaces(ctx, c, objs, missing); err != nil {
		return nil, err
	}
	sortForRestore(ordered, func(in engine.Input) *unstructured.Unstructured { return in.Obj })
	eng, err := engine.New(c, engine.Owner{Name: "tether admin import", FieldManager: fieldManager,
		Owns: func(metav1.Object) bool { return false }})
	if err != nil {
		return nil, err
	}
	var changes []engine.Change
	if opts.DryRun {
		changes, err = eng.Diff(ctx, ordered, engine.ApplyOptions{})
	} else {
		var res *engine.Result
		if res, err = eng.Apply(ctx, ordered, engine.ApplyOptions{}); err == nil {
			changes = res.ChangeSet
		}
	}
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	// The engine reports in its own order (stages); report in ours.
	slices.SortStableFunc(changes, func(a, b engine.Change) int {
		return cmp.Compare(rank(groupKindOf(a.ID)), rank(groupKindOf(b.ID)))
	})
	return changes, nil
}

// groupKindOf reads the group and kind of an inventory ID (engine.Entry
// parses it); nothing for an ID it cannot parse.
func groupKindOf(id string) schema.GroupKind {
	m, err := engine.Entry{ID: id}.ObjMetadata()
	if err != nil {
		return schema.GroupKind{}
	}
	return m.GroupKind
}

// validateInMissingNamespaces dry-runs every object of objs whose
// Namespace the import is to create in the "default" Namespace instead:
// the API server cannot validate an object in a Namespace that does not
// exist yet, and the engine would create the Namespace before it finds
// out. With this, a stream with one invalid object writes nothing at all,
// not even a Namespace. missing holds the Namespaces the cluster lacks.
func validateInMissingNamespaces(ctx context.Context, c client.Client, objs []engine.Input, missing map[string]bool) error {
	var errs []error
	for _, in := range objs {
		ns := in.Obj.GetNamespace()
		if !missing[ns] {
			continue
		}
		o := in.Obj.DeepCopy()
		o.SetNamespace(metav1.NamespaceDefault)
		err := c.Patch(ctx, o, client.Apply, client.DryRunAll, client.FieldOwner(fieldManager), client.ForceOwnership)
		if err != nil {
			// The API server names the stand-in Namespace; name the real one.
			why := strings.ReplaceAll(rejection(in.Obj, err), metav1.NamespaceDefault+"/"+in.Obj.GetName(), ns+"/"+in.Obj.GetName())
			errs = append(errs, fmt.Errorf("%s: %s/%s/%s: %s", in.Source, in.Obj.GetKind(), ns, in.Obj.GetName(), why))
		}
	}
	return errors.Join(errs...)
}

// rejection is the API server's reason for refusing o, without a Secret's
// values: for a Secret only the reason and the fields it names.
func rejection(o *unstructured.Unstructured, err error) string {
	if o.GetKind() != "Secret" {
		return err.Error()
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return "refused"
	}
	st := status.Status()
	msg := "refused: " + string(st.Reason)
	if st.Details != nil {
		for _, cause := range st.Details.Causes {
			msg += "; field " + cause.Field
		}
	}
	return msg
}

// describe is one line of Import's report.
func describe(c engine.Change) string {
	return strings.TrimSpace(c.Subject + " " + string(c.Action))
}
