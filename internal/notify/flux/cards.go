package flux

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tether-gitops/tether/api/meta"
)

// Microsoft Teams: an Adaptive Card for Workflows webhooks, or the
// retired Office 365 connector's MessageCard when the address is on
// *.webhook.office.com, as Flux decides.

type teamsMessageCard struct {
	Type       string         `json:"@type"`
	Context    string         `json:"@context"`
	ThemeColor string         `json:"themeColor"`
	Summary    string         `json:"summary"`
	Sections   []teamsSection `json:"sections"`
}

type teamsSection struct {
	ActivityTitle    string      `json:"activityTitle"`
	ActivitySubtitle string      `json:"activitySubtitle"`
	Facts            []teamsFact `json:"facts"`
}

type teamsFact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type adaptiveMessage struct {
	Type        string               `json:"type"`
	Attachments []adaptiveAttachment `json:"attachments"`
}

type adaptiveAttachment struct {
	ContentType string       `json:"contentType"`
	Content     adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string            `json:"$schema"`
	Type    string            `json:"type"`
	Version string            `json:"version"`
	Body    []adaptiveElement `json:"body"`
	MSTeams struct {
		Width string `json:"width,omitempty"`
	} `json:"msteams"`
}

// adaptiveElement is a Container, TextBlock or FactSet.
type adaptiveElement struct {
	Type   string            `json:"type"`
	Items  []adaptiveElement `json:"items,omitempty"`
	Text   string            `json:"text,omitempty"`
	Size   string            `json:"size,omitempty"`
	Weight string            `json:"weight,omitempty"`
	Color  string            `json:"color,omitempty"`
	Wrap   bool              `json:"wrap,omitempty"`
	Facts  []adaptiveFact    `json:"facts,omitempty"`
}

type adaptiveFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

func msteams(t *target, ev *Event) (*request, error) {
	if t.address == "" {
		return nil, errNoAddress
	}
	if u, err := url.Parse(t.address); err == nil && strings.HasSuffix(u.Hostname(), ".webhook.office.com") {
		return jsonRequest(http.MethodPost, t.address, teamsConnectorCard(ev), nil)
	}
	return jsonRequest(http.MethodPost, t.address, teamsAdaptiveCard(ev), nil)
}

func teamsConnectorCard(ev *Event) teamsMessageCard {
	facts := make([]teamsFact, 0, len(ev.Metadata))
	for _, k := range sortedKeys(ev.Metadata) {
		facts = append(facts, teamsFact{Name: k, Value: ev.Metadata[k]})
	}
	color := "0076D7"
	if ev.Severity == SeverityError {
		color = "FF0000"
	}
	name := ev.objectName()
	return teamsMessageCard{Type: "MessageCard", Context: "http://schema.org/extensions", ThemeColor: color, Summary: name,
		Sections: []teamsSection{{ActivityTitle: ev.Message, ActivitySubtitle: name, Facts: facts}}}
}

// teamsAdaptiveCard puts the summary first among the facts, the other
// metadata after it by key.
func teamsAdaptiveCard(ev *Event) adaptiveMessage {
	message := adaptiveElement{Type: "TextBlock", Text: ev.Message, Wrap: true}
	if ev.Severity == SeverityError {
		message.Color = "attention"
	}
	facts := make([]adaptiveFact, 0, len(ev.Metadata))
	if s, ok := ev.Metadata[MetaSummary]; ok {
		facts = append(facts, adaptiveFact{Title: MetaSummary, Value: s})
	}
	for _, k := range sortedKeys(ev.Metadata) {
		if k != MetaSummary {
			facts = append(facts, adaptiveFact{Title: k, Value: ev.Metadata[k]})
		}
	}
	card := adaptiveCard{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
		Body: []adaptiveElement{{Type: "Container", Items: []adaptiveElement{
			{Type: "TextBlock", Text: ev.objectName(), Size: "large", Weight: "bolder", Wrap: true},
			message,
			{Type: "FactSet", Facts: facts},
		}}}}
	card.MSTeams.Width = "Full"
	return adaptiveMessage{Type: "message", Attachments: []adaptiveAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}

// Google Chat: a card with the object as title, the controller as
// subtitle, the message (red for errors) and the metadata as key/values.

type chatCard struct {
	Header struct {
		Title      string  `json:"title"`
		Subtitle   string  `json:"subtitle"`
		ImageURL   *string `json:"imageUrl"`
		ImageStyle *string `json:"imageStyle"`
	} `json:"header"`
	Sections []chatSection `json:"sections"`
}

type chatSection struct {
	Header  string       `json:"header"`
	Widgets []chatWidget `json:"widgets"`
}

type chatWidget struct {
	TextParagraph *struct {
		Text string `json:"text"`
	} `json:"textParagraph"`
	KeyValue *chatKeyValue `json:"keyValue"`
}

type chatKeyValue struct {
	TopLabel         string  `json:"topLabel"`
	Content          string  `json:"content"`
	ContentMultiline bool    `json:"contentMultiline"`
	BottomLabel      *string `json:"bottomLabel"`
	Icon             *string `json:"icon"`
}

// googleChat skips Progressing events, as Flux's does (Google Chat
// replaced the meaningful message with them).
func googleChat(t *target, ev *Event) (*request, error) {
	if ev.Reason == meta.ProgressingReason {
		return nil, nil
	}
	var card chatCard
	card.Header.Title = ev.objectName()
	card.Header.Subtitle = ev.ReportingController
	text := ev.Message
	if ev.Severity == SeverityError {
		text = `<font color="#ff0000">` + ev.Message + `</font>`
	}
	para := chatWidget{TextParagraph: &struct {
		Text string `json:"text"`
	}{text}}
	kv := []chatWidget{{KeyValue: &chatKeyValue{TopLabel: "TIMESTAMP", Content: ev.Timestamp.String()}}}
	for _, k := range sortedKeys(ev.Metadata) {
		kv = append(kv, chatWidget{KeyValue: &chatKeyValue{TopLabel: k, Content: ev.Metadata[k]}})
	}
	card.Sections = []chatSection{{Widgets: []chatWidget{para}}, {Widgets: kv}}
	return jsonRequest(http.MethodPost, t.address, struct {
		Cards []chatCard `json:"cards"`
	}{[]chatCard{card}}, nil)
}
