package argo

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Argo CD's catalog of triggers and templates, available under their
// upstream names unless the ConfigMap defines the same name. The
// conditions are upstream's exactly (so that state keys, which hash
// them, match what Argo CD wrote); the templates say what upstream's say,
// written so that any value (a condition message with quotes) still
// makes valid JSON.

// catalogTriggers are the catalog's trigger YAML by name.
var catalogTriggers = map[string]string{
	"on-created": `- description: Application is created.
  oncePer: app.metadata.name
  send: [app-created]
  when: "true"`,
	"on-deleted": `- description: Application is deleted.
  oncePer: app.metadata.name
  send: [app-deleted]
  when: app.metadata.deletionTimestamp != nil`,
	"on-deployed": `- description: Application is synced and healthy. Triggered once per commit.
  oncePer: app.status.operationState?.syncResult?.revision
  send: [app-deployed]
  when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy' and !time.Parse(app.status.health.lastTransitionTime).Before(time.Parse(app.status.operationState.finishedAt))`,
	"on-health-degraded": `- description: Application has degraded
  oncePer: app.status.operationState?.syncResult?.revision
  send: [app-health-degraded]
  when: app.status.health.status == 'Degraded'`,
	"on-sync-failed": `- description: Application syncing has failed
  oncePer: app.status.operationState?.syncResult?.revision
  send: [app-sync-failed]
  when: app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']`,
	"on-sync-running": `- description: Application is being synced
  oncePer: app.status.operationState?.syncResult?.revision
  send: [app-sync-running]
  when: app.status.operationState != nil and app.status.operationState.phase in ['Running']`,
	"on-sync-status-unknown": `- description: Application status is 'Unknown'
  oncePer: app.status.operationState?.syncResult?.revision
  send: [app-sync-status-unknown]
  when: app.status.sync.status == 'Unknown'`,
	"on-sync-succeeded": `- description: Application syncing has succeeded
  oncePer: app.status.operationState?.syncResult?.revision
  send: [app-sync-succeeded]
  when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']`,
}

// catalogEntry describes one catalog template.
type catalogEntry struct {
	subject string      // email subject and Teams title
	message string      // the message; emoji is shown first on Slack only
	emoji   string      // Slack's emoji before the message
	color   string      // Slack's attachment color
	theme   string      // Teams' theme color
	facts   [][2]string // title and value expression of Slack's fields and Teams' facts
	action  string      // name of Teams' first action, which opens link
	link    string      // printf format of that link: argocdUrl and the app's name
}

// Links into Argo CD's UI (context.argocdUrl, the app's name).
const (
	appLink       = "%s/applications/%s"
	operationLink = appLink + "?operation=true"
)

var catalogEntries = map[string]catalogEntry{
	"app-created": {subject: "Application {{.app.metadata.name}} has been created.",
		message: "Application {{.app.metadata.name}} has been created."},
	"app-deleted": {subject: "Application {{.app.metadata.name}} has been deleted.",
		message: "Application {{.app.metadata.name}} has been deleted."},
	"app-deployed": {subject: "New version of an application {{.app.metadata.name}} is up and running.",
		message: "Application {{.app.metadata.name}} is now running new version of deployments manifests.",
		emoji:   ":white_check_mark:", color: "#18be52", theme: "#000080",
		facts:  [][2]string{{"Sync Status", ".app.status.sync.status"}, {"Revision", ".app.status.sync.revision"}},
		action: "Operation Application", link: appLink},
	"app-health-degraded": {subject: "Application {{.app.metadata.name}} has degraded.",
		message: "Application {{.app.metadata.name}} has degraded.\nApplication details: {{.context.argocdUrl}}/applications/{{.app.metadata.name}}.",
		emoji:   ":exclamation:", color: "#f4c030", theme: "#FF0000",
		facts:  [][2]string{{"Health Status", ".app.status.health.status"}},
		action: "Open Application", link: appLink},
	"app-sync-failed": {subject: "Failed to sync application {{.app.metadata.name}}.",
		message: "The sync operation of application {{.app.metadata.name}} has failed at {{.app.status.operationState.finishedAt}} with the following error: {{.app.status.operationState.message}}\n" +
			"Sync operation details are available at: {{.context.argocdUrl}}/applications/{{.app.metadata.name}}?operation=true .",
		emoji: ":exclamation:", color: "#E96D76", theme: "#FF0000",
		facts:  [][2]string{{"Sync Status", ".app.status.sync.status"}, {"Failed at", ".app.status.operationState.finishedAt"}},
		action: "Open Operation", link: operationLink},
	"app-sync-running": {subject: "Start syncing application {{.app.metadata.name}}.",
		message: "The sync operation of application {{.app.metadata.name}} has started at {{.app.status.operationState.startedAt}}.\n" +
			"Sync operation details are available at: {{.context.argocdUrl}}/applications/{{.app.metadata.name}}?operation=true .",
		color:  "#0DADEA",
		facts:  [][2]string{{"Sync Status", ".app.status.sync.status"}, {"Started at", ".app.status.operationState.startedAt"}},
		action: "Open Operation", link: operationLink},
	"app-sync-status-unknown": {subject: "Application {{.app.metadata.name}} sync status is 'Unknown'",
		message: "Application {{.app.metadata.name}} sync is 'Unknown'.\nApplication details: {{.context.argocdUrl}}/applications/{{.app.metadata.name}}." +
			`{{if ne .serviceType "slack"}}{{range .app.status.conditions}}` + "\n* {{.message}}{{end}}{{end}}",
		emoji: ":exclamation:", color: "#E96D76", theme: "#FF0000",
		facts:  [][2]string{{"Sync Status", ".app.status.sync.status"}},
		action: "Open Application", link: appLink},
	"app-sync-succeeded": {subject: "Application {{.app.metadata.name}} has been successfully synced.",
		message: "Application {{.app.metadata.name}} has been successfully synced at {{.app.status.operationState.finishedAt}}.\n" +
			"Sync operation details are available at: {{.context.argocdUrl}}/applications/{{.app.metadata.name}}?operation=true .",
		emoji: ":white_check_mark:", color: "#18be52", theme: "#000080",
		facts:  [][2]string{{"Sync Status", ".app.status.sync.status"}, {"Synced at", ".app.status.operationState.finishedAt"}},
		action: "Operation Details", link: operationLink},
}

// Template snippets: the app's repositories (one source or several)
// joined by newlines, and its conditions as extra rows.
const (
	reposVar = `{{- $repos := list -}}{{- with .app.spec.source}}{{$repos = append $repos .repoURL}}{{end -}}` +
		`{{- range .app.spec.sources}}{{$repos = append $repos .repoURL}}{{end -}}`
	reposValue      = `{{join "\n" $repos | toJson}}`
	conditionFields = `{{range .app.status.conditions}},{"title":{{toJson .type}},"value":{{toJson .message}},"short":true}{{end}}`
	conditionFacts  = `{{range .app.status.conditions}},{"name":{{toJson .type}},"value":{{toJson .message}}}{{end}}`
)

// jsonValue renders a pipeline's value as a JSON string ("" when unset).
func jsonValue(pipeline string) string {
	return `{{default "" ` + pipeline + ` | toJson}}`
}

// catalogTemplate writes an entry as a template (JSON, which is YAML).
func catalogTemplate(e catalogEntry) string {
	message := e.message
	if e.emoji != "" {
		message = `{{if eq .serviceType "slack"}}` + e.emoji + ` {{end}}` + message
	}
	spec := templateSpec{Message: message, Email: &EmailMessage{Subject: e.subject}, Teams: &TeamsMessage{Title: e.subject}}
	if e.facts != nil {
		rows := func(nameKey, extra string) string {
			var r []string
			for _, f := range e.facts {
				r = append(r, fmt.Sprintf(`{%q:%q,"value":%s%s}`, nameKey, f[0], jsonValue(f[1]), extra))
			}
			r = append(r, fmt.Sprintf(`{%q:"Repository","value":%s%s}`, nameKey, reposValue, extra))
			return strings.Join(r, ",")
		}
		link := func(format string) string {
			return fmt.Sprintf(`{{printf %q .context.argocdUrl .app.metadata.name | toJson}}`, format)
		}
		spec.Slack = &SlackMessage{Attachments: reposVar + fmt.Sprintf(`[{"title":{{toJson .app.metadata.name}},"title_link":%s,"color":%q,"fields":[%s%s]}]`,
			link(appLink), e.color, rows("title", `,"short":true`), conditionFields)}
		spec.Teams.Facts = reposVar + "[" + rows("name", "") + conditionFacts + "]"
		spec.Teams.PotentialAction = fmt.Sprintf(`[{"@type":"OpenUri","name":%q,"targets":[{"os":"default","uri":%s}]}]`, e.action, link(e.link))
		spec.Teams.ThemeColor = e.theme
	}
	b, _ := json.Marshal(spec)
	return string(b)
}
