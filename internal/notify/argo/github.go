package argo

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

// githubOptions are `service.github` options: a GitHub App (appID,
// installationID, privateKey), as upstream requires, or a token.
type githubOptions struct {
	AppID              json.RawMessage `json:"appID"`
	InstallationID     json.RawMessage `json:"installationID"`
	PrivateKey         string          `json:"privateKey"`
	Token              string          `json:"token"`
	EnterpriseBaseURL  string          `json:"enterpriseBaseURL"`
	InsecureSkipVerify bool            `json:"insecureSkipVerify"`
}

// githubService sets commit statuses through GitHub's REST API.
type githubService struct {
	api    string // base URL, no trailing slash
	token  string
	app    *githubApp
	client *http.Client
}

// githubApp mints installation tokens of a GitHub App.
type githubApp struct {
	id, installation int64
	key              *rsa.PrivateKey
	now              func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

func newGitHub(raw []byte, masks *redact.Values) (Service, error) {
	var o githubOptions
	if err := decodeOptions(raw, &o); err != nil {
		return nil, err
	}
	masks.Add(o.Token, o.PrivateKey)
	s := &githubService{api: "https://api.github.com", token: o.Token}
	if o.EnterpriseBaseURL != "" {
		u, err := url.Parse(o.EnterpriseBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("github: enterpriseBaseURL must be an http(s) URL")
		}
		s.api = strings.TrimSuffix(o.EnterpriseBaseURL, "/")
		if !strings.HasSuffix(s.api, "/api/v3") {
			s.api += "/api/v3" // GitHub Enterprise Server's REST API
		}
	}
	if o.Token == "" {
		app, err := newGitHubApp(o)
		if err != nil {
			return nil, err
		}
		s.app = app
	}
	c, err := httpClient(o.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	s.client = c
	return s, nil
}

// newGitHubApp reads an App's credentials; IDs may be numbers or strings.
func newGitHubApp(o githubOptions) (*githubApp, error) {
	id, err1 := flexibleInt(o.AppID)
	inst, err2 := flexibleInt(o.InstallationID)
	if err1 != nil || err2 != nil || o.PrivateKey == "" {
		return nil, errors.New("github: a token, or appID, installationID and privateKey, are required")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(o.PrivateKey))
	if err != nil {
		return nil, errors.New("github: privateKey is not an RSA private key in PEM")
	}
	return &githubApp{id: id, installation: inst, key: key, now: time.Now}, nil
}

func flexibleInt(raw json.RawMessage) (int64, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	return strconv.ParseInt(s, 10, 64)
}

// Send sets the template's commit status on its repository and revision.
func (s *githubService) Send(ctx context.Context, m *Message, _ Destination) error {
	g := m.GitHub
	if g == nil || g.Status == nil {
		return notify.Permanent(errors.New("github: the templates have no github.status part"))
	}
	fullName := FullNameByRepoURL(g.RepoURL)
	owner, repo, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || repo == "" || g.Revision == "" {
		return notify.Permanent(fmt.Errorf("github: no repository and revision (%q at %q)", fullName, g.Revision))
	}
	token, err := s.authToken(ctx)
	if err != nil {
		return err
	}
	status := map[string]string{
		"state":       g.Status.State,
		"context":     g.Status.Label,
		"target_url":  g.Status.TargetURL,
		"description": truncateRunes(m.Text, 140), // GitHub's limit
	}
	target := fmt.Sprintf("%s/repos/%s/%s/statuses/%s", s.api, url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(g.Revision))
	return notify.PostJSON(ctx, s.client, target, status, githubHeaders(token))
}

func githubHeaders(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Accept": "application/vnd.github+json",
		"X-GitHub-Api-Version": "2022-11-28"}
}

// authToken is the token, or the App's installation token, minted
// anew a minute before the last one expires.
func (s *githubService) authToken(ctx context.Context) (string, error) {
	if s.app == nil {
		return s.token, nil
	}
	a := s.app
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" && a.now().Before(a.expires.Add(-time.Minute)) {
		return a.token, nil
	}
	now := a.now()
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.id, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)), // GitHub's advice against clock drift
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}).SignedString(a.key)
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("github: sign the App's token: %w", err))
	}
	var answer struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	target := fmt.Sprintf("%s/app/installations/%d/access_tokens", s.api, a.installation)
	err = postReading(ctx, s.client, http.MethodPost, target, nil, githubHeaders(signed), func(b []byte) error {
		if err := json.Unmarshal(b, &answer); err != nil || answer.Token == "" {
			return errors.New("github: no installation token in the answer")
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("github: installation token: %w", err)
	}
	a.token, a.expires = answer.Token, answer.ExpiresAt
	return a.token, nil
}

// truncateRunes cuts s to n characters, ending in "..." when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-3]) + "..."
}
