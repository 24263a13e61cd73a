package argo

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/golang-jwt/jwt/v5"

	argov1 "github.com/tether-gitops/tether/api/argoproj/v1alpha1"
	"github.com/tether-gitops/tether/internal/notify"
)

// request is what a loopback server received.
type request struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// sink is a loopback HTTP server that records requests and answers with
// status and body.
type sink struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	status   int
	answer   string
}

func newSink(t *testing.T, status int, answer string) *sink {
	t.Helper()
	s := &sink{status: status, answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		status, answer := s.status, s.answer
		s.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) last(t *testing.T) request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		t.Fatal("the server received nothing")
	}
	return s.requests[len(s.requests)-1]
}

// send parses data and secret, renders templates for an app that synced
// and sends them to service:recipient.
func send(t *testing.T, data map[string]string, secret map[string][]byte, templates []string, to Destination) error {
	t.Helper()
	cfg := Parse(data, secret)
	if len(cfg.Problems) > 0 {
		t.Fatalf("problems: %v", cfg.ProblemList())
	}
	app := craftApp(both(operation(argov1.OperationSucceeded, "abc123"), func(a *argov1.Application) {
		a.Status.Conditions = []argov1.ApplicationCondition{{Type: "SyncError", Message: `a "quoted" message`}}
	}))
	m, err := cfg.Message(cfg.Env(app), Send{Templates: templates, To: to})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cfg.Services[to.Service].Send(ctx, m, to)
}

func TestSlack(t *testing.T) {
	tests := []struct {
		name      string
		answer    string
		status    int
		permanent bool
		wantErr   string
	}{
		{name: "posted", answer: `{"ok":true}`, status: 200},
		{name: "refused", answer: `{"ok":false,"error":"channel_not_found"}`, status: 200, permanent: true, wantErr: "channel_not_found"},
		{name: "rate limited", answer: `{"ok":false,"error":"ratelimited"}`, status: 429, wantErr: "429"},
		{name: "server error", answer: "boom", status: 500, wantErr: "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSink(t, tt.status, tt.answer)
			err := send(t, map[string]string{
				"service.slack": "token: $slack-token\nusername: Argo CD\nicon: ':rocket:'\napiURL: " + srv.URL + "/api/",
			}, map[string][]byte{"slack-token": []byte("xoxb-secret-token")}, []string{"app-sync-succeeded"}, Destination{Service: "slack", Recipient: "my-channel"})
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || notify.IsPermanent(err) != tt.permanent) {
				t.Fatalf("error %v (permanent %v), want %q (permanent %v)", err, notify.IsPermanent(err), tt.wantErr, tt.permanent)
			}
			if err != nil && strings.Contains(err.Error(), "xoxb") {
				t.Errorf("the token leaks into %v", err)
			}
			req := srv.last(t)
			if req.Method != http.MethodPost || req.Path != "/api/chat.postMessage" {
				t.Errorf("%s %s", req.Method, req.Path)
			}
			if got := req.Header.Get("Authorization"); got != "Bearer xoxb-secret-token" {
				t.Errorf("Authorization %q", got)
			}
			var p struct {
				Channel, Text, Username string
				IconEmoji               string `json:"icon_emoji"`
				Attachments             []struct {
					Title, Color string
					TitleLink    string `json:"title_link"`
					Fields       []struct{ Title, Value string }
				}
			}
			if err := json.Unmarshal(req.Body, &p); err != nil {
				t.Fatalf("body %s: %v", req.Body, err)
			}
			if p.Channel != "my-channel" || p.Username != "Argo CD" || p.IconEmoji != ":rocket:" ||
				!strings.HasPrefix(p.Text, ":white_check_mark: Application guestbook has been successfully synced at 2026-03-01T10:00:30Z.") {
				t.Errorf("payload %+v", p)
			}
			if len(p.Attachments) != 1 || p.Attachments[0].Title != "guestbook" || p.Attachments[0].Color != "#18be52" {
				t.Fatalf("attachments %+v", p.Attachments)
			}
			fields := map[string]string{}
			for _, f := range p.Attachments[0].Fields {
				fields[f.Title] = f.Value
			}
			if fields["Sync Status"] != "Synced" || fields["Repository"] != "https://github.com/argoproj/argocd-example-apps.git" ||
				fields["SyncError"] != `a "quoted" message` || fields["Synced at"] != "2026-03-01T10:00:30Z" {
				t.Errorf("fields %v", fields)
			}
		})
	}
}

func TestWebhook(t *testing.T) {
	srv := newSink(t, 204, "")
	data := map[string]string{
		"service.webhook.deploy-hook": "url: " + srv.URL + "/base/\nheaders:\n- name: X-Token\n  value: $hook-token\nbasicAuth:\n  username: argo\n  password: $hook-password\n",
		"template.hook": `webhook:
  deploy-hook:
    method: PUT
    path: /apps/{{.app.metadata.name}}
    body: '{"app": {{toJson .app.metadata.name}}, "revision": "{{.app.status.operationState.syncResult.revision}}", "repo": "{{call .repo.RepoURLToHTTPS .app.spec.source.repoURL}}"}'
`,
		"template.plain": "message: plain {{.app.metadata.name}}",
	}
	secret := map[string][]byte{"hook-token": []byte("t0ken-value"), "hook-password": []byte("pa55word")}
	to := Destination{Service: "deploy-hook"}
	if err := send(t, data, secret, []string{"hook"}, to); err != nil {
		t.Fatal(err)
	}
	req := srv.last(t)
	if req.Method != http.MethodPut || req.Path != "/base/apps/guestbook" {
		t.Errorf("%s %s", req.Method, req.Path)
	}
	if want := `{"app": "guestbook", "revision": "abc123", "repo": "https://github.com/argoproj/argocd-example-apps.git"}`; string(req.Body) != want {
		t.Errorf("body %s, want %s", req.Body, want)
	}
	if req.Header.Get("X-Token") != "t0ken-value" {
		t.Errorf("X-Token %q", req.Header.Get("X-Token"))
	}
	if u, p, ok := (&http.Request{Header: req.Header}).BasicAuth(); !ok || u != "argo" || p != "pa55word" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}

	// Without a webhook part, upstream sends the message with GET.
	if err := send(t, data, secret, []string{"plain"}, to); err != nil {
		t.Fatal(err)
	}
	if req := srv.last(t); req.Method != http.MethodGet || req.Path != "/base/" || string(req.Body) != "plain guestbook" {
		t.Errorf("%s %s %q", req.Method, req.Path, req.Body)
	}

	// A failing sink: retryable, and nothing of the URL's path or the
	// credentials in the error.
	srv.mu.Lock()
	srv.status = 500
	srv.mu.Unlock()
	err := send(t, data, secret, []string{"hook"}, to)
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), "/base") || strings.Contains(err.Error(), "pa55word") {
		t.Errorf("error %v", err)
	}
}

func TestTeams(t *testing.T) {
	tests := []struct {
		answer  string
		wantErr bool
	}{{answer: "1"}, {answer: ""}, {answer: "Webhook message delivery failed", wantErr: true}}
	for _, tt := range tests {
		t.Run("answer "+tt.answer, func(t *testing.T) {
			srv := newSink(t, 200, tt.answer)
			err := send(t, map[string]string{"service.teams": "recipientUrls:\n  ops: " + srv.URL + "/webhookb2/secret-path\n"}, nil,
				[]string{"app-sync-succeeded"}, Destination{Service: "teams", Recipient: "ops"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v", err)
			}
			if err != nil && strings.Contains(err.Error(), "secret-path") {
				t.Errorf("the webhook URL leaks into %v", err)
			}
			var card struct {
				Type    string `json:"@type"`
				Context string `json:"@context"`
				Title   string
				Text    string
				Theme   string `json:"themeColor"`
				Section []struct {
					Facts []struct{ Name, Value string }
				} `json:"sections"`
				Actions []struct {
					Type    string `json:"@type"`
					Name    string
					Targets []struct{ URI string }
				} `json:"potentialAction"`
			}
			if err := json.Unmarshal(srv.last(t).Body, &card); err != nil {
				t.Fatal(err)
			}
			if card.Type != "MessageCard" || card.Context != "https://schema.org/extensions" ||
				card.Title != "Application guestbook has been successfully synced." || card.Theme != "#000080" ||
				!strings.Contains(card.Text, "has been successfully synced at") {
				t.Errorf("card %+v", card)
			}
			if len(card.Section) != 1 || len(card.Section[0].Facts) != 4 || card.Section[0].Facts[0].Value != "Synced" {
				t.Errorf("facts %+v", card.Section)
			}
			if len(card.Actions) != 1 || card.Actions[0].Type != "OpenUri" || !strings.HasSuffix(card.Actions[0].Targets[0].URI, "/applications/guestbook?operation=true") {
				t.Errorf("actions %+v", card.Actions)
			}
		})
	}
	err := send(t, map[string]string{"service.teams": "recipientUrls: {}"}, nil, []string{"app-sync-succeeded"}, Destination{Service: "teams", Recipient: "nobody"})
	if err == nil || !notify.IsPermanent(err) {
		t.Errorf("an unknown recipient: %v", err)
	}
}

const statusTemplate = `message: Synced
github:
  status:
    state: success
    label: continuous-delivery/{{.app.metadata.name}}
    targetURL: https://argocd.example.com/applications/{{.app.metadata.name}}
`

func TestGitHubStatusWithToken(t *testing.T) {
	srv := newSink(t, 201, `{}`)
	err := send(t, map[string]string{"service.github": "token: $gh\nenterpriseBaseURL: " + srv.URL, "template.status": statusTemplate},
		map[string][]byte{"gh": []byte("ghp_secret")}, []string{"status"}, Destination{Service: "github"})
	if err != nil {
		t.Fatal(err)
	}
	req := srv.last(t)
	if req.Method != http.MethodPost || req.Path != "/api/v3/repos/argoproj/argocd-example-apps/statuses/abc123" {
		t.Errorf("%s %s", req.Method, req.Path)
	}
	if req.Header.Get("Authorization") != "Bearer ghp_secret" {
		t.Errorf("Authorization %q", req.Header.Get("Authorization"))
	}
	var st map[string]string
	_ = json.Unmarshal(req.Body, &st)
	if st["state"] != "success" || st["context"] != "continuous-delivery/guestbook" || st["description"] != "Synced" ||
		st["target_url"] != "https://argocd.example.com/applications/guestbook" {
		t.Errorf("status %v", st)
	}
}

func TestGitHubStatusAsApp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	var mu sync.Mutex
	var statusAuth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/api/v3/app/installations/42/access_tokens":
			tok, err := jwt.Parse(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
				func(*jwt.Token) (any, error) { return &key.PublicKey, nil }, jwt.WithIssuer("7"))
			if err != nil || !tok.Valid {
				http.Error(w, "bad JWT", http.StatusUnauthorized)
				return
			}
			_, _ = io.WriteString(w, `{"token":"ghs_installation","expires_at":"`+time.Now().Add(time.Hour).Format(time.RFC3339)+`"}`)
		default:
			statusAuth = append(statusAuth, r.Header.Get("Authorization"))
			w.WriteHeader(201)
		}
	}))
	defer srv.Close()
	cfg := Parse(map[string]string{
		"service.github":  "appID: 7\ninstallationID: \"42\"\nprivateKey: $key\nenterpriseBaseURL: " + srv.URL + "/api/v3/",
		"template.status": statusTemplate,
	}, map[string][]byte{"key": keyPEM})
	if len(cfg.Problems) > 0 {
		t.Fatal(cfg.ProblemList())
	}
	m, err := cfg.Message(cfg.Env(craftApp(operation(argov1.OperationSucceeded, "abc"))), Send{Templates: []string{"status"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := cfg.Services["github"].Send(context.Background(), m, Destination{Service: "github"}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(statusAuth) != 2 || statusAuth[0] != "Bearer ghs_installation" || statusAuth[1] != statusAuth[0] {
		t.Errorf("statuses authorized with %v", statusAuth)
	}
}

// mailbox is a go-smtp backend that keeps what it receives.
type mailbox struct {
	mu    sync.Mutex
	mails []received
}

type received struct {
	From, To, Data string
	User, Password string
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: b}, nil }

type mailSession struct {
	box *mailbox
	cur received
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		s.cur.User, s.cur.Password = user, password
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.From = from; return nil }

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.cur.To = to; return nil }

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.cur.Data = string(b)
	s.box.mu.Lock()
	s.box.mails = append(s.box.mails, s.cur)
	s.box.mu.Unlock()
	return err
}

func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

func TestEmail(t *testing.T) {
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	service := map[string]string{"service.email.mail": "host: " + host + "\nport: " + port +
		"\nfrom: argocd@example.com\nusername: argocd\npassword: $email-password\n"}
	secret := map[string][]byte{"email-password": []byte("mail-pa55")}
	err = send(t, service, secret, []string{"app-sync-succeeded"}, Destination{Service: "mail", Recipient: "team@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	box.mu.Lock()
	defer box.mu.Unlock()
	if len(box.mails) != 1 {
		t.Fatalf("%d mails", len(box.mails))
	}
	m := box.mails[0]
	if m.From != "argocd@example.com" || m.To != "team@example.com" || m.User != "argocd" || m.Password != "mail-pa55" ||
		!strings.Contains(m.Data, "Subject: Application guestbook has been successfully synced.\r\n") ||
		!strings.Contains(m.Data, "Application guestbook has been successfully synced at 2026-03-01T10:00:30Z.") {
		t.Errorf("mail %+v", m)
	}
	err = send(t, service, secret, []string{"app-sync-succeeded"}, Destination{Service: "mail", Recipient: "not an address\r\nRCPT TO:<x@evil>"})
	if err == nil || !notify.IsPermanent(err) {
		t.Errorf("a bad recipient: %v", err)
	}
}
