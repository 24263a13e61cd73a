package argo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tether-gitops/tether/internal/notify"
	"github.com/tether-gitops/tether/internal/redact"
)

// teamsOptions are `service.teams` options: an incoming-webhook URL per
// recipient name.
type teamsOptions struct {
	RecipientURLs      map[string]string `json:"recipientUrls"`
	InsecureSkipVerify bool              `json:"insecureSkipVerify"`
}

// teamsService posts Office 365 connector MessageCards.
type teamsService struct {
	urls   map[string]string
	client *http.Client
}

func newTeams(raw []byte, masks *redact.Values) (Service, error) {
	var o teamsOptions
	if err := decodeOptions(raw, &o); err != nil {
		return nil, err
	}
	for _, u := range o.RecipientURLs {
		masks.Add(u) // a Teams webhook URL is its credential
	}
	c, err := httpClient(o.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	return &teamsService{urls: o.RecipientURLs, client: c}, nil
}

// teamsCard is a MessageCard.
type teamsCard struct {
	Type            string            `json:"@type"`
	Context         string            `json:"@context"`
	Title           string            `json:"title,omitempty"`
	Summary         string            `json:"summary,omitempty"`
	Text            string            `json:"text,omitempty"`
	ThemeColor      string            `json:"themeColor,omitempty"`
	Sections        []json.RawMessage `json:"sections,omitempty"`
	PotentialAction []json.RawMessage `json:"potentialAction,omitempty"`
}

// teamsBody is the request body for m: the template's whole card when it has
// one, else a MessageCard of its parts (facts become a section).
func teamsBody(m *Message) ([]byte, error) {
	t := m.Teams
	if t != nil && strings.TrimSpace(t.Template) != "" {
		if !json.Valid([]byte(t.Template)) {
			return nil, errors.New("teams template: not JSON")
		}
		return []byte(t.Template), nil
	}
	card := teamsCard{Type: "MessageCard", Context: "https://schema.org/extensions", Title: m.Title, Text: m.Text}
	if t != nil {
		card.Title = firstNonEmpty(t.Title, card.Title)
		card.Summary, card.ThemeColor = t.Summary, t.ThemeColor
		card.Text = firstNonEmpty(t.Text, card.Text)
		if err := jsonArray("teams sections", t.Sections, &card.Sections); err != nil {
			return nil, err
		}
		if strings.TrimSpace(t.Facts) != "" {
			var facts []json.RawMessage
			if err := jsonArray("teams facts", t.Facts, &facts); err != nil {
				return nil, err
			}
			section, _ := json.Marshal(map[string]any{"facts": facts})
			card.Sections = append(card.Sections, section)
		}
		if err := jsonArray("teams potentialAction", t.PotentialAction, &card.PotentialAction); err != nil {
			return nil, err
		}
	}
	if card.Summary == "" {
		card.Summary = firstNonEmpty(card.Title, card.Text) // Teams refuses a card with neither
	}
	return json.Marshal(card)
}

// jsonArray decodes text, when set, as a JSON array into out.
func jsonArray(what, text string, out *[]json.RawMessage) error {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(text), out); err != nil {
		return fmt.Errorf("%s: not a JSON array: %w", what, err)
	}
	return nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// Send posts m to the recipient's webhook.
func (s *teamsService) Send(ctx context.Context, m *Message, to Destination) error {
	target, ok := s.urls[to.Recipient]
	if !ok {
		return notify.Permanent(fmt.Errorf("teams: no webhook URL for recipient %q in recipientUrls", to.Recipient))
	}
	body, err := teamsBody(m)
	if err != nil {
		return notify.Permanent(err)
	}
	return postReading(ctx, s.client, http.MethodPost, target, body,
		map[string]string{"Content-Type": "application/json"}, teamsAnswer)
}

// teamsAnswer reads a connector's answer: "1" (or nothing) is success;
// anything else is its error text.
func teamsAnswer(answer []byte) error {
	if a := strings.TrimSpace(string(answer)); a != "" && a != "1" {
		return notify.Permanent(fmt.Errorf("teams: %.200s", a))
	}
	return nil
}
