package flux

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Matrix transaction ids, as Flux makes them
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	notificationv1 "github.com/tether-gitops/tether/api/notification/v1"
	"github.com/tether-gitops/tether/internal/notify"
)

// request is one HTTP request to a provider.
type request struct {
	method  string
	url     string
	body    []byte
	headers map[string]string
}

// builder makes the request that delivers ev through t; a nil request
// means the provider skips this event (as Flux's do for some reasons).
type builder func(t *target, ev *Event) (*request, error)

// builders are the provider types Tether delivers to, by spec.type.
var builders = map[string]builder{
	notificationv1.GenericProvider:      generic,
	notificationv1.GenericHMACProvider:  genericHMAC,
	notificationv1.SlackProvider:        slack,
	notificationv1.MSTeamsProvider:      msteams,
	notificationv1.DiscordProvider:      discord,
	notificationv1.GoogleChatProvider:   googleChat,
	notificationv1.RocketProvider:       rocket,
	notificationv1.WebexProvider:        webex,
	notificationv1.MatrixProvider:       matrix,
	notificationv1.TelegramProvider:     telegram,
	notificationv1.AlertManagerProvider: alertmanager,
	notificationv1.GrafanaProvider:      grafana,
	notificationv1.GitHubProvider:       githubStatus,
	notificationv1.GitLabProvider:       gitlabStatus,
	notificationv1.GiteaProvider:        giteaStatus,
	notificationv1.BitbucketProvider:    bitbucketStatus,
}

// deliver sends ev through t with the builder of t's type. The error
// holds no value of t's Secrets.
func (t *target) deliver(ctx context.Context, ev *Event) error {
	build, ok := builders[t.typ]
	if !ok {
		return notify.Permanent(fmt.Errorf("provider type %q is not supported", t.typ))
	}
	req, err := build(t, ev)
	if err == nil && req != nil {
		err = notify.Post(ctx, t.client, req.method, req.url, req.body, req.headers)
	}
	if masked := t.masks.Error(err); masked != err {
		if notify.IsPermanent(err) {
			return notify.Permanent(masked)
		}
		return masked
	}
	return err
}

// Supported reports whether Tether delivers to Providers of type typ.
func Supported(typ string) bool {
	_, ok := builders[typ]
	return ok
}

// errNoAddress is returned by providers that need an address and have
// none, in the spec or the Secret.
var errNoAddress = notify.Permanent(errors.New("the Provider has no address (spec.address or the Secret's address key)"))

func jsonRequest(method, target string, v any, headers map[string]string) (*request, error) {
	if target == "" {
		return nil, errNoAddress
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, notify.Permanent(fmt.Errorf("encode payload: %w", err))
	}
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	return &request{method: method, url: target, body: body, headers: h}, nil
}

// generic posts the event as JSON, with the Secret's headers and Flux's
// gotk-component header.
func generic(t *target, ev *Event) (*request, error) {
	headers := map[string]string{"Gotk-Component": ev.ReportingController}
	for k, v := range t.headers {
		headers[k] = v
	}
	return jsonRequest(http.MethodPost, t.address, ev, headers)
}

// genericHMAC posts as generic does and signs the body: X-Signature is
// "sha256=" and the hex HMAC-SHA256 of the body keyed by the token.
func genericHMAC(t *target, ev *Event) (*request, error) {
	if t.token == "" {
		return nil, notify.Permanent(errors.New("generic-hmac needs the key in the token key of the Provider's Secret"))
	}
	req, err := generic(t, ev)
	if err != nil {
		return nil, err
	}
	req.headers["X-Signature"] = Sign(req.body, []byte(t.token))
	return req, nil
}

// Sign returns the X-Signature header value of a generic-hmac body.
func Sign(body, key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// sortedKeys returns m's keys in order, so payloads do not change from
// one event to the next.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// slackPayload is Slack's message with one attachment, also spoken by
// Discord's /slack endpoint and Rocket.Chat.
type slackPayload struct {
	Channel     string            `json:"channel"`
	Username    string            `json:"username"`
	IconURL     string            `json:"icon_url"`
	IconEmoji   string            `json:"icon_emoji"`
	Text        string            `json:"text,omitempty"`
	Attachments []slackAttachment `json:"attachments,omitempty"`
}

type slackAttachment struct {
	Color      string       `json:"color"`
	AuthorName string       `json:"author_name"`
	Text       string       `json:"text"`
	MrkdwnIn   []string     `json:"mrkdwn_in"`
	Fields     []slackField `json:"fields"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

func slackAttachmentOf(ev *Event, good, bad string) slackAttachment {
	color := good
	if ev.Severity == SeverityError {
		color = bad
	}
	fields := make([]slackField, 0, len(ev.Metadata))
	for _, k := range sortedKeys(ev.Metadata) {
		fields = append(fields, slackField{Title: k, Value: ev.Metadata[k]})
	}
	return slackAttachment{Color: color, AuthorName: ev.objectName(), Text: ev.Message, MrkdwnIn: []string{"text"}, Fields: fields}
}

func slack(t *target, ev *Event) (*request, error) {
	p := slackPayload{Channel: t.channel, Username: t.username, Attachments: []slackAttachment{slackAttachmentOf(ev, "good", "danger")}}
	if p.Username == "" {
		p.Username = ev.ReportingController
	}
	headers := map[string]string{}
	if t.token != "" {
		headers["Authorization"] = "Bearer " + t.token
	}
	return jsonRequest(http.MethodPost, t.address, p, headers)
}

// discord posts Slack's message to the webhook's /slack endpoint.
func discord(t *target, ev *Event) (*request, error) {
	if t.address == "" {
		return nil, errNoAddress
	}
	u, err := url.Parse(t.address)
	if err != nil {
		return nil, notify.Permanent(errors.New("the Provider's address is not a URL"))
	}
	if !strings.HasSuffix(u.Path, "/slack") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/slack"
	}
	p := slackPayload{Username: t.username, Attachments: []slackAttachment{slackAttachmentOf(ev, "good", "danger")}}
	if p.Username == "" {
		p.Username = ev.ReportingController
	}
	return jsonRequest(http.MethodPost, u.String(), p, nil)
}

func rocket(t *target, ev *Event) (*request, error) {
	p := slackPayload{Channel: t.channel, Username: t.username, Attachments: []slackAttachment{slackAttachmentOf(ev, "#0076D7", "#FF0000")}}
	return jsonRequest(http.MethodPost, t.address, p, nil)
}

func webex(t *target, ev *Event) (*request, error) {
	var b strings.Builder
	emoji := "✅"
	if ev.Severity == SeverityError {
		emoji = "💣"
	}
	fmt.Fprintf(&b, "%s **%s**\n%s\n", emoji, ev.objectName(), ev.Message)
	for _, k := range sortedKeys(ev.Metadata) {
		fmt.Fprintf(&b, ">**%s**: %s\n", k, ev.Metadata[k])
	}
	p := struct {
		RoomID   string `json:"roomId,omitempty"`
		Markdown string `json:"markdown,omitempty"`
	}{t.channel, b.String()}
	return jsonRequest(http.MethodPost, t.address, p, map[string]string{"Authorization": "Bearer " + t.token})
}

// matrix PUTs an m.room.message to the room of spec.channel, with a
// transaction id made from the event, so a retry is not shown twice.
func matrix(t *target, ev *Event) (*request, error) {
	if t.address == "" {
		return nil, errNoAddress
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, notify.Permanent(err)
	}
	txn := fmt.Sprintf("%x", sha1.Sum(raw)) //nolint:gosec // an id, not a signature
	emoji := "💫"
	if ev.Severity == SeverityError {
		emoji = "🚨"
	}
	var meta strings.Builder
	for _, k := range sortedKeys(ev.Metadata) {
		fmt.Fprintf(&meta, "- %s: %s\n", k, ev.Metadata[k])
	}
	p := struct {
		Body    string `json:"body"`
		MsgType string `json:"msgtype"`
	}{fmt.Sprintf("%s %s\n%s\n%s", emoji, ev.objectName(), ev.Message, meta.String()), "m.text"}
	target := strings.TrimSuffix(t.address, "/") + "/_matrix/client/r0/rooms/" + url.PathEscape(t.channel) + "/send/m.room.message/" + txn
	return jsonRequest(http.MethodPut, target, p, map[string]string{"Authorization": "Bearer " + t.token})
}

// telegram calls the Bot API's sendMessage at spec.address (Telegram's
// own by default) with MarkdownV2 text; spec.channel is the chat, with
// ":<thread>" for a forum topic.
func telegram(t *target, ev *Event) (*request, error) {
	if t.channel == "" || t.token == "" {
		return nil, notify.Permanent(errors.New("telegram needs spec.channel and the token key of the Provider's Secret"))
	}
	base := t.address
	if base == "" {
		base = "https://api.telegram.org"
	}
	emoji := "💫"
	if ev.Severity == SeverityError {
		emoji = "🚨"
	}
	heading := fmt.Sprintf("%s %s/%s/%s", emoji, strings.ToLower(ev.InvolvedObject.Kind), ev.InvolvedObject.Name, ev.InvolvedObject.Namespace)
	var meta strings.Builder
	for _, k := range sortedKeys(ev.Metadata) {
		fmt.Fprintf(&meta, "\\- *%s*: %s\n", telegramEscape(k), telegramEscape(ev.Metadata[k]))
	}
	chat, thread, _ := strings.Cut(t.channel, ":")
	p := struct {
		ChatID          string `json:"chat_id"`
		MessageThreadID string `json:"message_thread_id,omitempty"`
		Text            string `json:"text"`
		ParseMode       string `json:"parse_mode"`
	}{chat, thread, fmt.Sprintf("*%s*\n%s\n%s", telegramEscape(heading), telegramEscape(ev.Message), meta.String()), "MarkdownV2"}
	return jsonRequest(http.MethodPost, strings.TrimSuffix(base, "/")+"/bot"+t.token+"/sendMessage", p, nil)
}

// telegramEscape escapes MarkdownV2's special characters.
func telegramEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\.-_[]()~>`#+=|{}!*", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// alertmanager posts one firing alert: the metadata and the event's
// object and reason as labels, the message and summary as annotations.
func alertmanager(t *target, ev *Event) (*request, error) {
	labels := map[string]string{}
	annotations := map[string]string{"message": ev.Message}
	for k, v := range ev.Metadata {
		if k == MetaSummary {
			annotations[MetaSummary] = v
			continue
		}
		labels[k] = v
	}
	reason := ev.Reason
	if reason != "" {
		reason = strings.ToUpper(reason[:1]) + reason[1:]
	}
	labels["alertname"] = "Flux" + ev.InvolvedObject.Kind + reason
	labels["severity"] = ev.Severity
	labels["reason"] = ev.Reason
	labels["kind"] = ev.InvolvedObject.Kind
	labels["name"] = ev.InvolvedObject.Name
	labels["namespace"] = ev.InvolvedObject.Namespace
	labels["reportingcontroller"] = ev.ReportingController
	type alert struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    string            `json:"startsAt"`
	}
	p := []alert{{Status: "firing", Labels: labels, Annotations: annotations, StartsAt: ev.Timestamp.UTC().Format("2006-01-02T15:04:05Z07:00")}}
	headers := map[string]string{}
	if t.token != "" {
		headers["Authorization"] = "Bearer " + t.token
	}
	return jsonRequest(http.MethodPost, t.address, p, headers)
}

// grafana adds an annotation tagged "flux", the controller and each
// metadata pair.
func grafana(t *target, ev *Event) (*request, error) {
	tags := []string{"flux", ev.ReportingController}
	for _, k := range sortedKeys(ev.Metadata) {
		tags = append(tags, k+": "+ev.Metadata[k])
	}
	p := struct {
		When int64    `json:"when"`
		Text string   `json:"text"`
		Tags []string `json:"tags,omitempty"`
	}{ev.Timestamp.Unix(), ev.objectName(), tags}
	headers := map[string]string{}
	switch {
	case t.token != "":
		headers["Authorization"] = "Bearer " + t.token
	case t.username != "" && t.password != "":
		headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(t.username+":"+t.password))
	}
	return jsonRequest(http.MethodPost, t.address, p, headers)
}
