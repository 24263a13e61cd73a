package rbac

// model is the Casbin model of Argo CD's RBAC: a request asks whether a
// subject may take an action on an object of a resource type; policies
// allow or deny, with globs (or regular expressions, policy.matchMode:
// regex) in every field; roles are assigned with "g" lines. A deny wins
// over any allow.
const model = `
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && patternMatch(r.res, p.res) && patternMatch(r.act, p.act) && patternMatch(r.obj, p.obj)
`

// Built-in roles.
const (
	// RoleAdmin may do everything.
	RoleAdmin = "role:admin"
	// RoleReadonly may read everything but log out secrets.
	RoleReadonly = "role:readonly"
)

// builtinPolicy is always loaded before argocd-rbac-cm's policies: the
// two built-in roles, and the admin account as role:admin.
const builtinPolicy = `
p, role:readonly, applications, get, */*, allow
p, role:readonly, applicationsets, get, */*, allow
p, role:readonly, certificates, get, *, allow
p, role:readonly, clusters, get, *, allow
p, role:readonly, repositories, get, *, allow
p, role:readonly, write-repositories, get, *, allow
p, role:readonly, projects, get, *, allow
p, role:readonly, accounts, get, *, allow
p, role:readonly, gpgkeys, get, *, allow
p, role:readonly, logs, get, */*, allow
p, role:readonly, kustomizations, get, */*, allow
p, role:readonly, helmreleases, get, */*, allow
p, role:readonly, sources, get, */*, allow
p, role:readonly, sealedsecrets, get, */*, allow

p, role:admin, applications, create, */*, allow
p, role:admin, applications, update, */*, allow
p, role:admin, applications, update/*, */*, allow
p, role:admin, applications, delete, */*, allow
p, role:admin, applications, delete/*, */*, allow
p, role:admin, applications, sync, */*, allow
p, role:admin, applications, override, */*, allow
p, role:admin, applications, action/*, */*, allow
p, role:admin, applicationsets, create, */*, allow
p, role:admin, applicationsets, update, */*, allow
p, role:admin, applicationsets, delete, */*, allow
p, role:admin, certificates, create, *, allow
p, role:admin, certificates, update, *, allow
p, role:admin, certificates, delete, *, allow
p, role:admin, clusters, create, *, allow
p, role:admin, clusters, update, *, allow
p, role:admin, clusters, delete, *, allow
p, role:admin, repositories, create, *, allow
p, role:admin, repositories, update, *, allow
p, role:admin, repositories, delete, *, allow
p, role:admin, write-repositories, create, *, allow
p, role:admin, write-repositories, update, *, allow
p, role:admin, write-repositories, delete, *, allow
p, role:admin, projects, create, *, allow
p, role:admin, projects, update, *, allow
p, role:admin, projects, delete, *, allow
p, role:admin, accounts, update, *, allow
p, role:admin, gpgkeys, create, *, allow
p, role:admin, gpgkeys, delete, *, allow
p, role:admin, exec, create, */*, allow
p, role:admin, kustomizations, *, */*, allow
p, role:admin, helmreleases, *, */*, allow
p, role:admin, sources, *, */*, allow
p, role:admin, sealedsecrets, *, */*, allow

g, role:admin, role:readonly
g, admin, role:admin
`
