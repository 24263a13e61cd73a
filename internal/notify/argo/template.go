package argo

import (
	"bytes"
	"fmt"
	"maps"
	"sort"
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// Message is a rendered notification: the common text and each service's
// parts. Several templates render into one Message, later ones
// overriding what they set.
type Message struct {
	// Text is the template's `message`.
	Text string
	// Title is the template's `title`, a fallback subject for services
	// that have one.
	Title string
	// Email is the `email` part.
	Email *EmailMessage
	// Slack is the `slack` part.
	Slack *SlackMessage
	// Teams is the `teams` part.
	Teams *TeamsMessage
	// Webhook holds the `webhook.<service name>` parts.
	Webhook map[string]WebhookMessage
	// GitHub is the `github` part.
	GitHub *GitHubMessage
}

// EmailMessage is a template's email part.
type EmailMessage struct {
	// Subject is the mail's subject (the message's title when empty).
	Subject string `json:"subject,omitempty"`
	// Body is the mail's body (the message's text when empty).
	Body string `json:"body,omitempty"`
}

// SlackMessage is a template's slack part; Attachments and Blocks are
// JSON arrays as Slack's API takes them.
type SlackMessage struct {
	// Username and Icon (an :emoji: or an image URL) override the
	// service's.
	Username string `json:"username,omitempty"`
	Icon     string `json:"icon,omitempty"`
	// Attachments and Blocks are JSON arrays.
	Attachments string `json:"attachments,omitempty"`
	Blocks      string `json:"blocks,omitempty"`
}

// TeamsMessage is a template's teams part (an Office 365 connector
// MessageCard); Facts, Sections and PotentialAction are JSON arrays, and
// Template, when set, is the whole card.
type TeamsMessage struct {
	// Template is the whole card as JSON; the other fields are unused
	// when it is set.
	Template string `json:"template,omitempty"`
	// Title, Summary, Text and ThemeColor are the card's.
	Title      string `json:"title,omitempty"`
	Summary    string `json:"summary,omitempty"`
	Text       string `json:"text,omitempty"`
	ThemeColor string `json:"themeColor,omitempty"`
	// Facts, Sections and PotentialAction are JSON arrays.
	Facts           string `json:"facts,omitempty"`
	Sections        string `json:"sections,omitempty"`
	PotentialAction string `json:"potentialAction,omitempty"`
}

// WebhookMessage is a template's request for one webhook service.
type WebhookMessage struct {
	// Method is the HTTP method (GET when empty, as upstream).
	Method string `json:"method,omitempty"`
	// Path is appended to the service's URL.
	Path string `json:"path,omitempty"`
	// Body is the request's body.
	Body string `json:"body,omitempty"`
}

// GitHubMessage is a template's github part: a commit status on the
// app's repository and revision.
type GitHubMessage struct {
	// RepoURLPath and RevisionPath are templates of the repository and
	// the commit (default: the app's source and synced revision).
	RepoURLPath  string `json:"repoURLPath,omitempty"`
	RevisionPath string `json:"revisionPath,omitempty"`
	// Status is the commit status to set.
	Status *GitHubStatus `json:"status,omitempty"`

	// RepoURL and Revision are RepoURLPath and RevisionPath rendered.
	RepoURL, Revision string `json:"-"`
}

// GitHubStatus is a commit status.
type GitHubStatus struct {
	// State is error, failure, pending or success.
	State string `json:"state,omitempty"`
	// Label is the status's context.
	Label string `json:"label,omitempty"`
	// TargetURL is the status's link.
	TargetURL string `json:"targetURL,omitempty"`
}

// templateSpec is a template as written in the ConfigMap. Parts of
// services Tether does not deliver to (mattermost, opsgenie, ...) are
// ignored.
type templateSpec struct {
	Message string                    `json:"message,omitempty"`
	Title   string                    `json:"title,omitempty"`
	Email   *EmailMessage             `json:"email,omitempty"`
	Slack   *SlackMessage             `json:"slack,omitempty"`
	Teams   *TeamsMessage             `json:"teams,omitempty"`
	Webhook map[string]WebhookMessage `json:"webhook,omitempty"`
	GitHub  *GitHubMessage            `json:"github,omitempty"`
}

// Template is a compiled notification template.
type Template struct {
	name   string
	hooks  []WebhookMessage // per webhook service: Path holds its name, Method its method
	fields []field
}

// field is one templated string and where its value goes.
type field struct {
	path string // e.g. "slack.attachments", for errors
	tmpl *template.Template
	set  func(m *Message, v string)
}

// funcMap is sprig's functions without access to the environment, as
// upstream offers them (built once; templates copy what they use).
var funcMap = sync.OnceValue(func() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	return f
})

// addFunc compiles one templated string of a template.
type addFunc = func(path, text string, set func(*Message, string)) error

// parseTemplate compiles a template's YAML.
func parseTemplate(name, text string, funcs template.FuncMap) (*Template, error) {
	var spec templateSpec
	if err := yaml.Unmarshal([]byte(text), &spec); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	t := &Template{name: name}
	add := func(path, text string, set func(*Message, string)) error {
		if text == "" {
			return nil
		}
		tmpl, err := template.New(name + "." + path).Funcs(funcs).Parse(text)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		t.fields = append(t.fields, field{path: path, tmpl: tmpl, set: set})
		return nil
	}
	err := firstErr(
		add("message", spec.Message, func(m *Message, v string) { m.Text = v }),
		add("title", spec.Title, func(m *Message, v string) { m.Title = v }),
		spec.emailFields(add), spec.slackFields(add), spec.teamsFields(add),
		spec.webhookFields(t, add), spec.githubFields(add),
	)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (s *templateSpec) emailFields(add addFunc) error {
	e := s.Email
	if e == nil {
		return nil
	}
	return firstErr(
		add("email.subject", e.Subject, func(m *Message, v string) { emailOf(m).Subject = v }),
		add("email.body", e.Body, func(m *Message, v string) { emailOf(m).Body = v }),
	)
}

func emailOf(m *Message) *EmailMessage {
	if m.Email == nil {
		m.Email = &EmailMessage{}
	}
	return m.Email
}

func slackOf(m *Message) *SlackMessage {
	if m.Slack == nil {
		m.Slack = &SlackMessage{}
	}
	return m.Slack
}

func teamsOf(m *Message) *TeamsMessage {
	if m.Teams == nil {
		m.Teams = &TeamsMessage{}
	}
	return m.Teams
}

func githubOf(m *Message) *GitHubMessage {
	if m.GitHub == nil {
		m.GitHub = &GitHubMessage{}
	}
	return m.GitHub
}

func (s *templateSpec) slackFields(add addFunc) error {
	sl := s.Slack
	if sl == nil {
		return nil
	}
	return firstErr(
		add("slack.username", sl.Username, func(m *Message, v string) { slackOf(m).Username = v }),
		add("slack.icon", sl.Icon, func(m *Message, v string) { slackOf(m).Icon = v }),
		add("slack.attachments", sl.Attachments, func(m *Message, v string) { slackOf(m).Attachments = v }),
		add("slack.blocks", sl.Blocks, func(m *Message, v string) { slackOf(m).Blocks = v }),
	)
}

func (s *templateSpec) teamsFields(add addFunc) error {
	tm := s.Teams
	if tm == nil {
		return nil
	}
	return firstErr(
		add("teams.template", tm.Template, func(m *Message, v string) { teamsOf(m).Template = v }),
		add("teams.title", tm.Title, func(m *Message, v string) { teamsOf(m).Title = v }),
		add("teams.summary", tm.Summary, func(m *Message, v string) { teamsOf(m).Summary = v }),
		add("teams.text", tm.Text, func(m *Message, v string) { teamsOf(m).Text = v }),
		add("teams.themeColor", tm.ThemeColor, func(m *Message, v string) { teamsOf(m).ThemeColor = v }),
		add("teams.facts", tm.Facts, func(m *Message, v string) { teamsOf(m).Facts = v }),
		add("teams.sections", tm.Sections, func(m *Message, v string) { teamsOf(m).Sections = v }),
		add("teams.potentialAction", tm.PotentialAction, func(m *Message, v string) { teamsOf(m).PotentialAction = v }),
	)
}

// webhookFields compiles the webhook parts: an entry per webhook service,
// sent even when its body renders empty.
func (s *templateSpec) webhookFields(t *Template, add addFunc) error {
	names := make([]string, 0, len(s.Webhook))
	for n := range s.Webhook {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		w := s.Webhook[name]
		t.hooks = append(t.hooks, WebhookMessage{Path: name, Method: w.Method})
		set := func(apply func(*WebhookMessage, string)) func(*Message, string) {
			return func(m *Message, v string) {
				cur := m.Webhook[name]
				apply(&cur, v)
				m.Webhook[name] = cur
			}
		}
		err := firstErr(
			add("webhook."+name+".path", w.Path, set(func(h *WebhookMessage, v string) { h.Path = v })),
			add("webhook."+name+".body", w.Body, set(func(h *WebhookMessage, v string) { h.Body = v })),
		)
		if err != nil {
			return err
		}
	}
	return nil
}

// Default repository and revision of a github part, as upstream.
const (
	defaultGitHubRepoURL  = "{{.app.spec.source.repoURL}}"
	defaultGitHubRevision = "{{.app.status.operationState.syncResult.revision}}"
)

func (s *templateSpec) githubFields(add addFunc) error {
	g := s.GitHub
	if g == nil {
		return nil
	}
	repo, rev := g.RepoURLPath, g.RevisionPath
	if repo == "" {
		repo = defaultGitHubRepoURL
	}
	if rev == "" {
		rev = defaultGitHubRevision
	}
	err := firstErr(
		add("github.repoURLPath", repo, func(m *Message, v string) { githubOf(m).RepoURL = v }),
		add("github.revisionPath", rev, func(m *Message, v string) { githubOf(m).Revision = v }),
	)
	if err != nil || g.Status == nil {
		return err
	}
	status := func(m *Message) *GitHubStatus {
		gh := githubOf(m)
		if gh.Status == nil {
			gh.Status = &GitHubStatus{}
		}
		return gh.Status
	}
	return firstErr(
		add("github.status.state", g.Status.State, func(m *Message, v string) { status(m).State = v }),
		add("github.status.label", g.Status.Label, func(m *Message, v string) { status(m).Label = v }),
		add("github.status.targetURL", g.Status.TargetURL, func(m *Message, v string) { status(m).TargetURL = v }),
	)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// render executes t's fields with vars into m; a field that renders
// empty leaves what an earlier template set.
func (t *Template) render(m *Message, vars map[string]any) error {
	for _, h := range t.hooks {
		if m.Webhook == nil {
			m.Webhook = map[string]WebhookMessage{}
		}
		m.Webhook[h.Path] = WebhookMessage{Method: h.Method}
	}
	var buf bytes.Buffer
	for _, f := range t.fields {
		buf.Reset()
		if err := f.tmpl.Execute(&limitedWriter{w: &buf, left: maxRendered}, vars); err != nil {
			return fmt.Errorf("template %s: %s: %w", t.name, f.path, err)
		}
		if v := buf.String(); v != "" {
			f.set(m, v)
		}
	}
	return nil
}

// maxRendered bounds what one templated string may render to: a loop
// gone wrong fails the notification instead of eating the memory.
const maxRendered = 1 << 20

// limitedWriter fails once more than left bytes were written.
type limitedWriter struct {
	w    *bytes.Buffer
	left int
}

// Write writes p unless it goes past the limit.
func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, fmt.Errorf("renders to more than %d bytes", maxRendered)
	}
	l.left -= len(p)
	return l.w.Write(p)
}

// Render renders the named templates, in order, into one Message.
func (c *Config) Render(names []string, vars map[string]any) (*Message, error) {
	m := &Message{}
	for _, name := range names {
		t, ok := c.Templates[name]
		if !ok {
			return nil, fmt.Errorf("template %q is not configured", name)
		}
		if err := t.render(m, vars); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// templateVars are the variables of a template rendered for one
// destination: app, context (with notificationType), secrets,
// serviceType, recipient, notificationType and the helper namespaces.
func (c *Config) templateVars(env map[string]any, to Destination) map[string]any {
	vars := maps.Clone(env)
	ctx := map[string]string{"notificationType": to.Service}
	maps.Copy(ctx, c.Context)
	vars["context"] = ctx
	vars["serviceType"] = to.Service
	vars["notificationType"] = to.Service
	vars["recipient"] = to.Recipient
	return vars
}
