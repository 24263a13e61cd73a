package project

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// InvalidError lists what is wrong with an AppProject, one field error
// per problem.
type InvalidError struct {
	// Project is the AppProject's name.
	Project string

	// Errors are the problems, each with its field path.
	Errors field.ErrorList
}

// Error puts every problem on one line, separated by "; ".
func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return fmt.Sprintf("AppProject %q is invalid: %s", e.Project, strings.Join(msgs, "; "))
}

// Unwrap returns the field errors, for errors.As.
func (e *InvalidError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		errs[i] = fe
	}
	return errs
}

// Validate checks an AppProject as Argo CD's API server does before it
// accepts one, and returns an *InvalidError naming every problem with its
// field path, or nil. It checks that
//
//   - sourceRepos, sourceNamespaces, destinations and
//     destinationServiceAccounts hold no duplicates and no "!*" pattern;
//   - role names are unique and of letters, digits, '-' and '_', starting
//     and ending with a letter or digit;
//   - each policy line reads "p, proj:<project>:<role>, <resource>,
//     <action>, <project>/<object>, allow|deny" with a project-scoped
//     resource (applications, applicationsets, clusters, repositories,
//     logs, exec) and an action Argo CD knows, and is not repeated;
//   - group names are unique, not empty, free of quotes, tabs and line
//     breaks, and quoted when they hold a comma;
//   - each sync window has kind allow or deny, a five-field cron schedule,
//     a Go duration and at least one of applications, namespaces and
//     clusters, and no two windows share kind, schedule and duration.
func Validate(p *argov1.AppProject) error {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, validateSources(&p.Spec, spec)...)
	errs = append(errs, validateDestinations(&p.Spec, spec)...)
	errs = append(errs, validateRoles(p.Name, p.Spec.Roles, spec.Child("roles"))...)
	errs = append(errs, validateSyncWindows(p.Spec.SyncWindows, spec.Child("syncWindows"))...)
	if len(errs) == 0 {
		return nil
	}
	return &InvalidError{Project: p.Name, Errors: errs}
}

func validateSources(s *argov1.AppProjectSpec, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, repo := range s.SourceRepos {
		path := spec.Child("sourceRepos").Index(i)
		switch {
		case repo == "!*":
			errs = append(errs, field.Invalid(path, repo, "'!*' would deny every repository"))
		case seen[repo]:
			errs = append(errs, field.Duplicate(path, repo))
		}
		seen[repo] = true
	}
	seen = map[string]bool{}
	for i, ns := range s.SourceNamespaces {
		if seen[ns] {
			errs = append(errs, field.Duplicate(spec.Child("sourceNamespaces").Index(i), ns))
		}
		seen[ns] = true
	}
	return errs
}

func validateDestinations(s *argov1.AppProjectSpec, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, d := range s.Destinations {
		path := spec.Child("destinations").Index(i)
		errs = append(errs, denyAll(path.Child("name"), d.Name)...)
		errs = append(errs, denyAll(path.Child("server"), d.Server)...)
		errs = append(errs, denyAll(path.Child("namespace"), d.Namespace)...)
		key := d.Server + "/" + d.Namespace
		if d.Server == "" && d.Name != "" {
			key = d.Name + "/" + d.Namespace
		}
		if seen[key] {
			errs = append(errs, field.Duplicate(path, key))
		}
		seen[key] = true
	}
	seen = map[string]bool{}
	for i, sa := range s.DestinationServiceAccounts {
		path := spec.Child("destinationServiceAccounts").Index(i)
		errs = append(errs, denyAll(path.Child("server"), sa.Server)...)
		errs = append(errs, denyAll(path.Child("namespace"), sa.Namespace)...)
		key := sa.Server + "/" + sa.Namespace
		if seen[key] {
			errs = append(errs, field.Duplicate(path, key))
		}
		seen[key] = true
	}
	return errs
}

func denyAll(path *field.Path, pattern string) field.ErrorList {
	if pattern != "!*" {
		return nil
	}
	return field.ErrorList{field.Invalid(path, pattern, "'!*' would deny everything")}
}

// roleName is Argo CD's rule for role names.
var roleName = regexp.MustCompile(`^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$`)

func validateRoles(project string, roles []argov1.ProjectRole, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, role := range roles {
		rp := path.Index(i)
		switch {
		case names[role.Name]:
			errs = append(errs, field.Duplicate(rp.Child("name"), role.Name))
		case !roleName.MatchString(role.Name):
			errs = append(errs, field.Invalid(rp.Child("name"), role.Name,
				"must consist of letters, digits, '-' or '_', and start and end with a letter or digit"))
		}
		names[role.Name] = true
		policies := map[string]bool{}
		for j, policy := range role.Policies {
			pp := rp.Child("policies").Index(j)
			if policies[policy] {
				errs = append(errs, field.Duplicate(pp, policy))
			}
			policies[policy] = true
			if problems := policyProblems(project, role.Name, policy); len(problems) > 0 {
				errs = append(errs, field.Invalid(pp, policy, strings.Join(problems, ", and ")))
			}
		}
		groups := map[string]bool{}
		for j, group := range role.Groups {
			gp := rp.Child("groups").Index(j)
			if groups[group] {
				errs = append(errs, field.Duplicate(gp, group))
			}
			groups[group] = true
			if problem := groupProblem(group); problem != "" {
				errs = append(errs, field.Invalid(gp, group, problem))
			}
		}
	}
	return errs
}

// projectScoped are the RBAC resources a project role's policy may name.
var projectScoped = map[string]bool{
	"applications": true, "applicationsets": true, "clusters": true,
	"repositories": true, "logs": true, "exec": true,
}

// policyActions are the plain actions Argo CD accepts in project policies;
// actionPrefixes, the ones that take a sub-resource ("action/apps/Deployment/restart").
var (
	policyActions  = map[string]bool{"get": true, "create": true, "update": true, "delete": true, "sync": true, "override": true, "*": true}
	actionPrefixes = regexp.MustCompile(`action/.*|update/.*|delete/.*`)
)

// policyProblems lists what is wrong with one policy line of role in
// project; none when it is valid.
func policyProblems(project, role, policy string) []string {
	parts := strings.Split(policy, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	if len(parts) != 6 || parts[0] != "p" {
		return []string{fmt.Sprintf("must be of the form 'p, proj:%s:%s, <resource>, <action>, %s/<object>, allow|deny'", project, role, project)}
	}
	var problems []string
	if want := "proj:" + project + ":" + role; parts[1] != want {
		problems = append(problems, fmt.Sprintf("policy subject must be '%s', not '%s'", want, parts[1]))
	}
	if !projectScoped[parts[2]] {
		problems = append(problems, fmt.Sprintf("resource must be one of applications, applicationsets, clusters, repositories, logs or exec, not '%s'", parts[2]))
	}
	if !policyActions[parts[3]] && !actionPrefixes.MatchString(parts[3]) {
		problems = append(problems, fmt.Sprintf("invalid action '%s'", parts[3]))
	}
	object := regexp.MustCompile(`^` + regexp.QuoteMeta(project) + `(/[*\w-.]+){1,2}$`)
	if !object.MatchString(parts[4]) {
		problems = append(problems, fmt.Sprintf("object must be of the form '%s/*', '%s/<app>' or '%s/<namespace>/<app>', not '%s'", project, project, project, parts[4]))
	}
	if parts[5] != "allow" && parts[5] != "deny" {
		problems = append(problems, fmt.Sprintf("effect must be 'allow' or 'deny', not '%s'", parts[5]))
	}
	return problems
}

// groupProblem says what is wrong with an SSO group name, or "".
func groupProblem(group string) string {
	name := group
	if len(name) > 1 && strings.HasPrefix(name, `"`) && strings.HasSuffix(name, `"`) {
		name = name[1 : len(name)-1]
	} else if strings.Contains(name, ",") {
		return "must be quoted when it contains a comma"
	}
	switch {
	case strings.TrimSpace(name) == "":
		return "must not be empty"
	case strings.TrimSpace(name) != name:
		return "must not start or end with spaces"
	case strings.ContainsAny(name, "\"\n\r\t"):
		return "must not contain quotes, tabs or line breaks"
	}
	return ""
}

func validateSyncWindows(windows []argov1.SyncWindow, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, w := range windows {
		wp := path.Index(i)
		key := w.Kind + ":" + w.Schedule + ":" + w.Duration
		if seen[key] {
			errs = append(errs, field.Duplicate(wp, key))
		}
		seen[key] = true
		if w.Kind != argov1.SyncWindowKindAllow && w.Kind != argov1.SyncWindowKindDeny {
			errs = append(errs, field.NotSupported(wp.Child("kind"), w.Kind, []string{argov1.SyncWindowKindAllow, argov1.SyncWindowKindDeny}))
		}
		if _, err := parseSchedule(w.Schedule); err != nil {
			errs = append(errs, field.Invalid(wp.Child("schedule"), w.Schedule, err.Error()))
		}
		if _, err := time.ParseDuration(w.Duration); err != nil {
			errs = append(errs, field.Invalid(wp.Child("duration"), w.Duration, err.Error()))
		}
		if len(w.Applications) == 0 && len(w.Namespaces) == 0 && len(w.Clusters) == 0 {
			errs = append(errs, field.Required(wp, "one of applications, namespaces or clusters is required"))
		}
	}
	return errs
}
