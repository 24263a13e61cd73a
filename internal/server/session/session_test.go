package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
)

type staticSettings struct {
	cm     map[string]string
	secret map[string][]byte
}

func (s *staticSettings) ConfigMap() map[string]string { return s.cm }
func (s *staticSettings) Secret() map[string][]byte    { return s.secret }

func hash(t *testing.T, password string) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type fixture struct {
	settings *staticSettings
	projects map[string]*argov1.AppProject
	now      time.Time
	m        *Manager
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{now: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), projects: map[string]*argov1.AppProject{}}
	f.settings = &staticSettings{
		cm: map[string]string{"accounts.alice": "login, apiKey", "accounts.bot": "apiKey", "accounts.off": "login", "accounts.off.enabled": "false"},
		secret: map[string][]byte{
			"server.secretkey":        []byte("signing-key-of-the-test"),
			"admin.password":          hash(t, "admin-pass"),
			"admin.passwordMtime":     []byte("2026-12-01T00:00:00Z"),
			"accounts.alice.password": hash(t, "alice-pass"),
			"accounts.off.password":   hash(t, "off-pass"),
			"accounts.bot.tokens":     []byte(`[{"id":"key-1","iat":1764000000}]`),
		},
	}
	projects := func(_ context.Context, name string) (*argov1.AppProject, error) {
		if p, ok := f.projects[name]; ok {
			return p, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "appprojects"}, name)
	}
	m, err := New(f.settings, projects, Options{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	return f
}

func TestLoginAndVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	token, err := f.m.Login("admin", "admin-pass")
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.m.Verify(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "admin" || id.Issuer != Issuer || !id.ExpiresAt.Equal(f.now.Add(DefaultSessionDuration)) {
		t.Errorf("identity = %+v", id)
	}
	var claims Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil || claims.Subject != "admin:login" || claims.ID == "" {
		t.Errorf("claims = %+v (%v), want sub admin:login and a jti", claims, err)
	}

	for _, tt := range []struct {
		user, password string
		want           error
	}{
		{"admin", "wrong", ErrInvalidLogin},
		{"nobody", "admin-pass", ErrInvalidLogin},
		{"bot", "anything", ErrInvalidLogin}, // no login capability
		{"", "x", ErrNoCredentials},
		{strings.Repeat("a", 33), "x", ErrUsernameTooLong},
	} {
		if _, err := f.m.Login(tt.user, tt.password); !errors.Is(err, tt.want) {
			t.Errorf("Login(%q) = %v, want %v", tt.user, err, tt.want)
		}
	}
	if _, err := f.m.Login("off", "off-pass"); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("disabled account logged in: %v", err)
	}

	// A password change invalidates older tokens.
	f.now = f.now.Add(time.Hour)
	f.settings.secret["admin.passwordMtime"] = []byte(f.now.Format(time.RFC3339))
	if _, err := f.m.Verify(ctx, token); err == nil || !strings.Contains(err.Error(), "password has changed") {
		t.Errorf("token from before a password change: %v", err)
	}
	// Past its expiry a token is refused.
	fresh, _ := f.m.Login("alice", "alice-pass")
	f.now = f.now.Add(DefaultSessionDuration + time.Minute)
	if _, err := f.m.Verify(ctx, fresh); err == nil {
		t.Error("expired token accepted")
	}
}

func TestLockout6thAttemptRefusedWithoutCheck(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < DefaultMaxFailures; i++ {
		if _, err := f.m.Login("alice", "wrong"); !errors.Is(err, ErrInvalidLogin) {
			t.Fatal(err)
		}
	}
	// The right password is refused now, without a check...
	start := time.Now()
	if _, err := f.m.Login("alice", "alice-pass"); !errors.Is(err, ErrInvalidLogin) {
		t.Fatalf("locked-out login = %v", err)
	}
	if d := time.Since(start); d > 5*time.Millisecond {
		t.Logf("locked-out login took %v (no password check expected)", d)
	}
	// ...until the window has passed.
	f.now = f.now.Add(DefaultFailureWindow)
	if _, err := f.m.Login("alice", "alice-pass"); err != nil {
		t.Fatalf("login after the window: %v", err)
	}
}

func TestForgedTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := f.now.Unix()
	good := jwt.MapClaims{"iss": Issuer, "sub": "admin:login", "iat": now, "exp": now + 60, "jti": "x"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for key, val := range good {
			c[key] = val
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	key := f.settings.secret["server.secretkey"]
	if _, err := f.m.Verify(ctx, sign(jwt.SigningMethodHS256, key, good)); err != nil {
		t.Fatalf("well-formed token refused: %v", err)
	}
	for name, token := range map[string]string{
		"other key":       sign(jwt.SigningMethodHS256, []byte("attacker"), good),
		"alg none":        sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good),
		"HS512":           sign(jwt.SigningMethodHS512, key, good),
		"other issuer":    sign(jwt.SigningMethodHS256, key, with("iss", "evil")),
		"expired":         sign(jwt.SigningMethodHS256, key, with("exp", now-1)),
		"no jti":          sign(jwt.SigningMethodHS256, key, with("jti", nil)),
		"no iat":          sign(jwt.SigningMethodHS256, key, with("iat", nil)),
		"unknown account": sign(jwt.SigningMethodHS256, key, with("sub", "mallory:login")),
		"disabled":        sign(jwt.SigningMethodHS256, key, with("sub", "off:login")),
		"unlisted apikey": sign(jwt.SigningMethodHS256, key, with("sub", "bot:apiKey")),
		"no capability":   sign(jwt.SigningMethodHS256, key, with("sub", "bot:login")),
		"unknown project": sign(jwt.SigningMethodHS256, key, with("sub", "proj:nope:role")),
		"garbage":         "not.a.token",
	} {
		if _, err := f.m.Verify(ctx, token); err == nil {
			t.Errorf("%s: token accepted", name)
		}
	}
	// An API key listed for the account is accepted.
	if _, err := f.m.Verify(ctx, sign(jwt.SigningMethodHS256, key, merge(with("sub", "bot:apiKey"), "jti", "key-1"))); err != nil {
		t.Errorf("listed API key refused: %v", err)
	}
}

func merge(c jwt.MapClaims, k string, v any) jwt.MapClaims { c[k] = v; return c }

func TestProjectTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ap := &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "production"},
		Spec: argov1.AppProjectSpec{Roles: []argov1.ProjectRole{{Name: "app-developer"}}}}
	f.projects["production"] = ap
	token, record, err := f.m.IssueProjectToken("production", "app-developer", time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Verify(ctx, token); err == nil {
		t.Fatal("token not yet recorded in the project was accepted")
	}
	ap.Status.JWTTokensByRole = map[string]argov1.JWTTokens{"app-developer": {Items: []argov1.JWTToken{record}}}
	id, err := f.m.Verify(ctx, token)
	if err != nil || id.Subject != "proj:production:app-developer" {
		t.Fatalf("recorded project token: %+v, %v", id, err)
	}
	// Deleting the role revokes the token.
	ap.Spec.Roles = nil
	if _, err := f.m.Verify(ctx, token); err == nil {
		t.Error("token of a deleted role accepted")
	}
}

type externalFunc func(ctx context.Context, token string) (*Identity, error)

func (f externalFunc) Verify(ctx context.Context, token string) (*Identity, error) {
	return f(ctx, token)
}

func TestExternalSubjectNamedLikeALocalAccount(t *testing.T) {
	f := newFixture(t)
	m, err := New(f.settings, nil, Options{Now: func() time.Time { return f.now }, External: externalFunc(func(_ context.Context, token string) (*Identity, error) {
		var c jwt.RegisteredClaims
		_, _, _ = jwt.NewParser().ParseUnverified(token, &c)
		return &Identity{Subject: c.Subject, Issuer: c.Issuer}, nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	sso := func(sub string) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://idp.example.com", "sub": sub}).SignedString([]byte("idp"))
		return s
	}
	if _, err := m.Verify(context.Background(), sso("admin")); err == nil {
		t.Error("an SSO user named admin was accepted (would hold role:admin)")
	}
	if id, err := m.Verify(context.Background(), sso("dana")); err != nil || id.Subject != "dana" {
		t.Errorf("SSO user dana: %+v, %v", id, err)
	}
}

// TestUnknownUserCostsAPasswordCheck: a wrong name and a wrong password
// take the same path (one bcrypt comparison against a hash of the same
// cost), so response times do not tell which names exist; a locked-out
// name costs none.
func TestUnknownUserCostsAPasswordCheck(t *testing.T) {
	f := newFixture(t)
	var hashes [][]byte
	f.m.compare = func(hash, password []byte) error {
		hashes = append(hashes, hash)
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	for _, user := range []string{"nobody", "alice"} {
		hashes = nil
		if _, err := f.m.Login(user, "wrong"); !errors.Is(err, ErrInvalidLogin) {
			t.Fatalf("%s: %v", user, err)
		}
		if len(hashes) != 1 {
			t.Fatalf("%s: %d password checks, want 1", user, len(hashes))
		}
		cost, err := bcrypt.Cost(hashes[0])
		if err != nil || cost != bcrypt.DefaultCost && user == "nobody" {
			t.Errorf("%s: checked against a hash of cost %d (%v), want %d", user, cost, err, bcrypt.DefaultCost)
		}
	}
	for i := 0; i < DefaultMaxFailures; i++ {
		_, _ = f.m.Login("nobody", "wrong")
	}
	hashes = nil
	if _, err := f.m.Login("nobody", "wrong"); !errors.Is(err, ErrInvalidLogin) || len(hashes) != 0 {
		t.Errorf("locked-out name: %v after %d checks, want refused without one", err, len(hashes))
	}
}
