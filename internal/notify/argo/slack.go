package argo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

// slackOptions are `service.slack` options.
type slackOptions struct {
	Token              string `json:"token"`
	Username           string `json:"username"`
	Icon               string `json:"icon"`
	APIURL             string `json:"apiURL"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify"`
	DisableUnfurl      bool   `json:"disableUnfurl"`
}

// slackService posts with Slack's chat.postMessage.
type slackService struct {
	opts   slackOptions
	client *http.Client
}

// defaultSlackAPI is Slack's Web API.
const defaultSlackAPI = "https://slack.com/api/"

func newSlack(raw []byte, masks *redact.Values) (Service, error) {
	var o slackOptions
	if err := decodeOptions(raw, &o); err != nil {
		return nil, err
	}
	masks.Add(o.Token)
	if o.Token == "" {
		return nil, errors.New("slack: a token is required")
	}
	if o.APIURL == "" {
		o.APIURL = defaultSlackAPI
	}
	if u, err := url.Parse(o.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("slack: apiURL must be an http(s) URL")
	}
	c, err := httpClient(o.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	return &slackService{opts: o, client: c}, nil
}

// iconEmoji is how Slack writes an emoji (":rocket:").
var iconEmoji = regexp.MustCompile(`^:.+:$`)

// payload is the chat.postMessage request for m to channel.
func (s *slackService) payload(m *Message, channel string) (map[string]any, error) {
	p := map[string]any{"channel": channel, "text": m.Text}
	username, icon := s.opts.Username, s.opts.Icon
	if sm := m.Slack; sm != nil {
		if sm.Username != "" {
			username = sm.Username
		}
		if sm.Icon != "" {
			icon = sm.Icon
		}
		for key, text := range map[string]string{"attachments": sm.Attachments, "blocks": sm.Blocks} {
			if strings.TrimSpace(text) == "" {
				continue
			}
			var list []json.RawMessage
			if err := json.Unmarshal([]byte(text), &list); err != nil {
				return nil, fmt.Errorf("slack %s: not a JSON array: %w", key, err)
			}
			p[key] = list
		}
	}
	if username != "" {
		p["username"] = username
	}
	switch {
	case icon == "":
	case iconEmoji.MatchString(icon):
		p["icon_emoji"] = icon
	case strings.HasPrefix(icon, "https://") || strings.HasPrefix(icon, "http://"):
		p["icon_url"] = icon
	}
	if s.opts.DisableUnfurl {
		p["unfurl_links"], p["unfurl_media"] = false, false
	}
	return p, nil
}

// Send posts m to the channel named by the recipient.
func (s *slackService) Send(ctx context.Context, m *Message, to Destination) error {
	if to.Recipient == "" {
		return notify.Permanent(errors.New("slack: the subscription names no channel"))
	}
	p, err := s.payload(m, to.Recipient)
	if err != nil {
		return notify.Permanent(err)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return notify.Permanent(fmt.Errorf("slack: %w", err))
	}
	target := strings.TrimSuffix(s.opts.APIURL, "/") + "/chat.postMessage"
	headers := map[string]string{"Authorization": "Bearer " + s.opts.Token, "Content-Type": "application/json; charset=utf-8"}
	return postReading(ctx, s.client, http.MethodPost, target, body, headers, slackAnswer)
}

// slackAnswer reads chat.postMessage's answer: HTTP 200 with ok false
// and an error code on failure.
func slackAnswer(answer []byte) error {
	var a struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return errors.New("slack: the answer is not Slack's JSON")
	}
	switch {
	case a.OK:
		return nil
	case a.Error == "ratelimited":
		return errors.New("slack: rate limited")
	default:
		return notify.Permanent(fmt.Errorf("slack: %s", a.Error))
	}
}
