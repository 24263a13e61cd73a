// Package session logs callers in and recognises their tokens, compatible
// with Argo CD: local accounts from argocd-cm and argocd-secret, bcrypt
// passwords, HS256 JWTs signed with argocd-secret server.secretkey
// (subject "<account>:login" for a login, "<account>:apiKey" for an API
// key, "proj:<project>:<role>" for a project role's token), failed logins
// counted per name and locked out for a while.
package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

// Issuer is the iss claim of the tokens the server makes.
const Issuer = "argocd"

// DefaultSessionDuration is how long a login token lasts unless argocd-cm
// users.session.duration says otherwise.
const DefaultSessionDuration = 24 * time.Hour

// maxUsernameLength bounds a login's user name, as Argo CD's does.
const maxUsernameLength = 32

// maxConcurrentLogins bounds password checks running at once (each costs
// a bcrypt comparison); a login beyond it is refused as a failed one.
const maxConcurrentLogins = 50

// Errors a caller can tell apart. Their messages are Argo CD's; none says
// whether a user exists.
var (
	// ErrInvalidLogin is a wrong user name or password, or a locked-out
	// name.
	ErrInvalidLogin = errors.New("Invalid username or password")
	// ErrNoCredentials is a login without user name or password.
	ErrNoCredentials = errors.New("no credentials supplied")
	// ErrUsernameTooLong is a user name over 32 bytes.
	ErrUsernameTooLong = fmt.Errorf("Username is too long (%d bytes max)", maxUsernameLength)
)

// InvalidTokenError is a token that is not (or no longer) valid.
type InvalidTokenError struct{ Reason string }

func (e *InvalidTokenError) Error() string { return "invalid session: " + e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidTokenError{Reason: fmt.Sprintf(format, args...)}
}

// Settings is where accounts and the signing key are read from.
type Settings interface {
	// ConfigMap is argocd-cm's data.
	ConfigMap() map[string]string
	// Secret is argocd-secret's data.
	Secret() map[string][]byte
}

// Projects finds an AppProject by name, for project-role tokens.
type Projects func(ctx context.Context, name string) (*argov1.AppProject, error)

// Identity is a verified caller.
type Identity struct {
	// Subject is the account name, or proj:<project>:<role>.
	Subject string
	// Issuer is the token's issuer.
	Issuer string
	// Groups are the caller's SSO groups.
	Groups []string
	// Claims are the token's claims, as RBAC scopes read them.
	Claims map[string]any
	// ExpiresAt is when the token stops being valid; zero for never.
	ExpiresAt time.Time
}

// External verifies the tokens of another issuer: an SSO provider's ID
// tokens. It answers (nil, nil) for a token that is not its issuer's.
type External interface {
	Verify(ctx context.Context, token string) (*Identity, error)
}

// Manager logs in and verifies tokens. Make one with New.
type Manager struct {
	settings Settings
	projects Projects
	external External
	lockout  *lockout
	now      func() time.Time
	// dummyHash is compared against for an unknown user, so that a wrong
	// name costs what a wrong password does.
	dummyHash []byte
	// compare checks a password against a hash (bcrypt's; a test counts
	// the calls).
	compare func(hash, password []byte) error
	logins  chan struct{}
}

// Options tune a Manager; zero values take Argo CD's defaults.
type Options struct {
	MaxFailures   int
	FailureWindow time.Duration
	MaxTracked    int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// External verifies tokens not issued by this server (SSO); nil:
	// none is accepted.
	External External
}

// New returns a Manager reading settings and projects.
func New(settings Settings, projects Projects, opts Options) (*Manager, error) {
	if opts.MaxFailures == 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	if opts.FailureWindow == 0 {
		opts.FailureWindow = DefaultFailureWindow
	}
	if opts.MaxTracked == 0 {
		opts.MaxTracked = DefaultMaxTracked
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return &Manager{
		settings:  settings,
		projects:  projects,
		external:  opts.External,
		lockout:   newLockout(opts.MaxFailures, opts.FailureWindow, opts.MaxTracked, opts.Now),
		now:       opts.Now,
		dummyHash: dummy,
		compare:   bcrypt.CompareHashAndPassword,
		logins:    make(chan struct{}, maxConcurrentLogins),
	}, nil
}

// Claims are the claims of the tokens the server makes.
type Claims struct {
	jwt.RegisteredClaims
}

// Login checks username and password and returns a login token. A name
// with too many recent failures is refused without a password check; an
// unknown name costs a password check all the same.
func (m *Manager) Login(username, password string) (string, error) {
	switch {
	case username == "" || password == "":
		return "", ErrNoCredentials
	case len(username) > maxUsernameLength:
		return "", ErrUsernameTooLong
	}
	select {
	case m.logins <- struct{}{}:
		defer func() { <-m.logins }()
	default:
		return "", ErrInvalidLogin
	}
	account, err := m.checkPassword(username, password, CapabilityLogin)
	if err != nil {
		return "", err
	}
	if !account.Enabled {
		return "", fmt.Errorf("Account %s is disabled", username)
	}
	m.lockout.succeeded(username)
	return m.sign(username+":"+CapabilityLogin, m.sessionDuration(), rand.Text())
}

// sessionDuration is argocd-cm users.session.duration, else 24 h.
func (m *Manager) sessionDuration() time.Duration {
	if d, err := time.ParseDuration(m.settings.ConfigMap()["users.session.duration"]); err == nil && d > 0 {
		return d
	}
	return DefaultSessionDuration
}

// sign makes a token for subject; lifetime 0 means it never expires.
func (m *Manager) sign(subject string, lifetime time.Duration, id string) (string, error) {
	key, err := m.key()
	if err != nil {
		return "", err
	}
	now := m.now().UTC().Truncate(time.Second)
	claims := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Subject: subject, ID: id,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
	}}
	if lifetime > 0 {
		claims.ExpiresAt = jwt.NewNumericDate(now.Add(lifetime))
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return token, nil
}

func (m *Manager) key() ([]byte, error) {
	key := m.settings.Secret()["server.secretkey"]
	if len(key) == 0 {
		return nil, errors.New("argocd-secret has no server.secretkey")
	}
	return key, nil
}

// Verify checks a token and says who it stands for: its signature, issuer,
// validity times, and that what it names still holds (the account exists,
// is enabled and has the capability; an API key is still listed; the
// password did not change after it was issued; a project role still lists
// it).
func (m *Manager) Verify(ctx context.Context, token string) (*Identity, error) {
	if m.external != nil {
		var peek jwt.RegisteredClaims
		if _, _, err := jwt.NewParser().ParseUnverified(token, &peek); err == nil && peek.Issuer != Issuer {
			id, err := m.external.Verify(ctx, token)
			if err != nil {
				return nil, invalid("%v", err)
			}
			if id != nil {
				// An SSO user named like a local account would hold its
				// rights (the built-in "g, admin, role:admin" among them).
				if _, local := Accounts(m.settings.ConfigMap(), m.settings.Secret())[id.Subject]; local {
					return nil, invalid("SSO subject %q is the name of a local account", id.Subject)
				}
				return id, nil
			}
			return nil, invalid("token issuer %q is not trusted", peek.Issuer)
		}
	}
	key, err := m.key()
	if err != nil {
		return nil, err
	}
	var claims Claims
	_, err = jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer), jwt.WithIssuedAt(), jwt.WithTimeFunc(m.now))
	if err != nil {
		return nil, invalid("%v", err)
	}
	if claims.IssuedAt == nil {
		return nil, invalid("token has no iat claim")
	}
	id := &Identity{Issuer: claims.Issuer, Claims: map[string]any{"sub": claims.Subject, "iss": claims.Issuer}}
	if claims.ExpiresAt != nil {
		id.ExpiresAt = claims.ExpiresAt.Time
	}
	if strings.HasPrefix(claims.Subject, "proj:") {
		if err := m.verifyProjectToken(ctx, &claims); err != nil {
			return nil, err
		}
		id.Subject = claims.Subject
		return id, nil
	}
	name, capability, found := strings.Cut(claims.Subject, ":")
	if !found {
		capability = CapabilityAPIKey
	}
	account := Accounts(m.settings.ConfigMap(), m.settings.Secret())[name]
	switch {
	case account == nil:
		return nil, invalid("account %s does not exist", name)
	case !account.Enabled:
		return nil, invalid("account %s is disabled", name)
	case !account.Has(capability):
		return nil, invalid("account %s does not have '%s' capability", name, capability)
	case claims.ID == "":
		return nil, invalid("token does not have a unique identifier (jti claim)")
	case capability == CapabilityAPIKey && !account.HasToken(claims.ID):
		return nil, invalid("account %s does not have token with id %s", name, claims.ID)
	case !account.PasswordMtime.IsZero() && claims.IssuedAt.Time.Before(account.PasswordMtime.Truncate(time.Second)):
		return nil, invalid("account password has changed since token issued")
	}
	id.Subject = name
	id.Claims["sub"] = name
	return id, nil
}

// verifyProjectToken checks that the project and role exist and that the
// role lists the token (by id, or by issue time for tokens without one).
func (m *Manager) verifyProjectToken(ctx context.Context, claims *Claims) error {
	parts := strings.Split(claims.Subject, ":")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return invalid("%q is not a project role (proj:<project>:<role>)", claims.Subject)
	}
	project, role := parts[1], parts[2]
	ap, err := m.projects(ctx, project)
	if err != nil {
		return invalid("project %s: %v", project, err)
	}
	for _, t := range ProjectTokens(ap, role) {
		if (claims.ID != "" && t.ID == claims.ID) || (t.ID == "" && t.IssuedAt == claims.IssuedAt.Unix()) {
			return nil
		}
	}
	return invalid("JWT token for role '%s' issued at '%d' does not exist in project '%s'", role, claims.IssuedAt.Unix(), project)
}

// ProjectTokens lists the tokens a project records for role: in status
// (jwtTokensByRole) and, as older Argo CD versions kept them, in the
// role's spec. A role that no longer exists has none.
func ProjectTokens(ap *argov1.AppProject, role string) []argov1.JWTToken {
	for _, r := range ap.Spec.Roles {
		if r.Name == role {
			return append(append([]argov1.JWTToken(nil), r.JWTTokens...), ap.Status.JWTTokensByRole[role].Items...)
		}
	}
	return nil
}

// IssueAPIKey signs an API key for account, valid for lifetime (0: no
// expiry), with id (a random one when empty). The caller records the
// returned Token in argocd-secret before handing the key out.
func (m *Manager) IssueAPIKey(account string, lifetime time.Duration, id string) (string, Token, error) {
	if id == "" {
		id = rand.Text()
	}
	token, err := m.sign(account+":"+CapabilityAPIKey, lifetime, id)
	if err != nil {
		return "", Token{}, err
	}
	now := m.now().UTC().Truncate(time.Second)
	record := Token{ID: id, IssuedAt: now.Unix()}
	if lifetime > 0 {
		record.ExpiresAt = now.Add(lifetime).Unix()
	}
	return token, record, nil
}

// CheckPassword checks an account's password, counting a failure as a
// failed login does (and refusing a locked-out name without a check).
func (m *Manager) CheckPassword(username, password string) error {
	_, err := m.checkPassword(username, password, "")
	return err
}

// checkPassword checks username's password, and that the account has
// capability unless it is "". A name with too many recent failures is
// refused without a check; an unknown name costs a check all the same.
func (m *Manager) checkPassword(username, password, capability string) (*Account, error) {
	if m.lockout.locked(username) {
		return nil, ErrInvalidLogin
	}
	account := Accounts(m.settings.ConfigMap(), m.settings.Secret())[username]
	hash := m.dummyHash
	known := account != nil && len(account.PasswordHash) > 0 && (capability == "" || account.Has(capability))
	if known {
		hash = account.PasswordHash
	}
	if err := m.compare(hash, []byte(password)); err != nil || !known {
		m.lockout.failed(username)
		return nil, ErrInvalidLogin
	}
	return account, nil
}

// IssueProjectToken signs a token for role of project, valid for lifetime
// (0: no expiry), with id (a random one when empty). The caller records
// the returned JWTToken in the project before handing the token out.
func (m *Manager) IssueProjectToken(project, role string, lifetime time.Duration, id string) (string, argov1.JWTToken, error) {
	if id == "" {
		id = rand.Text()
	}
	token, err := m.sign("proj:"+project+":"+role, lifetime, id)
	if err != nil {
		return "", argov1.JWTToken{}, err
	}
	now := m.now().UTC().Truncate(time.Second)
	record := argov1.JWTToken{IssuedAt: now.Unix(), ID: id}
	if lifetime > 0 {
		record.ExpiresAt = now.Add(lifetime).Unix()
	}
	return token, record, nil
}
