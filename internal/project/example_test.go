package project_test

import (
	"fmt"
	"time"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/project"
)

func Example() {
	ap := &argov1.AppProject{Spec: argov1.AppProjectSpec{
		SourceRepos:                []string{"https://github.com/example/production-apps.git"},
		Destinations:               []argov1.ApplicationDestination{{Server: "https://kubernetes.default.svc", Namespace: "production"}},
		ClusterResourceWhitelist:   []argov1.ClusterResourceRestrictionItem{{Group: "", Kind: "Namespace"}},
		NamespaceResourceBlacklist: []argov1.GroupKind{{Group: "", Kind: "ResourceQuota"}},
	}}
	ap.Name = "production"
	if err := project.Validate(ap); err != nil {
		fmt.Println(err)
		return
	}
	p := project.New(ap)
	dest := argov1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "production"}

	fmt.Println(p.PermitsSource("https://github.com/Example/production-apps"))
	fmt.Println(p.PermitsDestination(dest))
	fmt.Println(p.PermitsResource("", "ResourceQuota", "quota", true))
	fmt.Println(p.PermitsObject("apps", "Deployment", "web", "default", true, dest))
	// Output:
	// true
	// true
	// resource :ResourceQuota is not permitted in project production (denied by spec.namespaceResourceBlacklist[0])
	// namespace default is not permitted in project 'production' (no entry of spec.destinations allows it)
}

func ExampleProject_CanSync() {
	p := project.Default()
	p.Spec.SyncWindows = []argov1.SyncWindow{{
		Kind: "deny", Schedule: "0 22 * * *", Duration: "1h", TimeZone: "Europe/Amsterdam",
		Applications: []string{"*"}, ManualSync: true,
	}}
	dest := argov1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "guestbook"}
	amsterdam, _ := time.LoadLocation("Europe/Amsterdam")
	at := time.Date(2025, 6, 2, 22, 15, 0, 0, amsterdam)

	fmt.Println(p.CanSync("guestbook", dest, false, at))
	fmt.Println(p.CanSync("guestbook", dest, true, at))
	fmt.Println(p.CanSync("guestbook", dest, false, at.Add(time.Hour)))
	// Output:
	// false sync blocked: active deny window spec.syncWindows[0] (deny:0 22 * * *:1h Europe/Amsterdam); manual syncs are allowed
	// true manual sync allowed by manualSync (active deny window spec.syncWindows[0] (deny:0 22 * * *:1h Europe/Amsterdam))
	// true
}
