package server

import (
	"net/http"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// resApplicationSets is Argo CD's RBAC resource of ApplicationSets; the
// object is "<project>/<name>", the project being the template's.
const resApplicationSets = "applicationsets"

// appSetList is the list's answer.
type appSetList struct {
	Items []argov1.ApplicationSet `json:"items"`
}

func appSetForAPI(s *argov1.ApplicationSet) {
	s.APIVersion, s.Kind = argov1.GroupVersion.String(), "ApplicationSet"
	s.ManagedFields = nil
}

// appSetObject is the RBAC object of set.
func appSetObject(set *argov1.ApplicationSet) string {
	return set.Spec.Template.Spec.Project + "/" + set.Name
}

// listApplicationSets is GET /api/v1/applicationsets: the sets of the
// control-plane namespace the caller may read (`argocd appset list`).
func (s *Server) listApplicationSets(w http.ResponseWriter, r *http.Request) {
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return
	}
	var list argov1.ApplicationSetList
	if err := s.deps.Client.List(r.Context(), &list, client.InNamespace(s.cfg.Namespace)); err != nil {
		s.internalError(w, err, "list ApplicationSets")
		return
	}
	out := appSetList{Items: []argov1.ApplicationSet{}}
	for i := range list.Items {
		set := &list.Items[i]
		if allows(policy, r, resApplicationSets, actGet, appSetObject(set)) {
			appSetForAPI(set)
			out.Items = append(out.Items, *set)
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// getApplicationSet is GET /api/v1/applicationsets/{name}; a set the
// caller may not read and one that does not exist both answer 403.
func (s *Server) getApplicationSet(w http.ResponseWriter, r *http.Request) {
	set, ok := s.readApplicationSet(w, r, actGet)
	if !ok {
		return
	}
	appSetForAPI(set)
	writeJSON(w, http.StatusOK, set)
}

// deleteApplicationSet is DELETE /api/v1/applicationsets/{name}: its
// Applications go with it (their resources too, unless the set preserves
// them).
func (s *Server) deleteApplicationSet(w http.ResponseWriter, r *http.Request) {
	set, ok := s.readApplicationSet(w, r, actDelete)
	if !ok {
		return
	}
	policy := metav1.DeletePropagationForeground
	if err := s.deps.Client.Delete(r.Context(), set, &client.DeleteOptions{PropagationPolicy: &policy}); err != nil && !apierrors.IsNotFound(err) {
		s.writeKubeError(w, err, "delete the ApplicationSet")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) readApplicationSet(w http.ResponseWriter, r *http.Request, action string) (*argov1.ApplicationSet, bool) {
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac policy")
		return nil, false
	}
	var set argov1.ApplicationSet
	err = s.deps.Client.Get(r.Context(), keyOf(s.cfg.Namespace, r.PathValue("name")), &set)
	if err != nil && !apierrors.IsNotFound(err) {
		s.internalError(w, err, "read ApplicationSet")
		return nil, false
	}
	if err != nil || !allows(policy, r, resApplicationSets, action, appSetObject(&set)) {
		writeError(w, codePermissionDenied, errPermissionDenied)
		return nil, false
	}
	return &set, true
}
