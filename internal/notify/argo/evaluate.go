package argo

import (
	"fmt"
	"maps"
	"time"
)

// Send is one notification an evaluation decided on.
type Send struct {
	// Trigger is the trigger's name.
	Trigger string
	// Templates make the message.
	Templates []string
	// To is where it goes.
	To Destination
	// Key is its state key (unique per app).
	Key string
}

// TriggerResult is one condition's outcome, for metrics and logs.
type TriggerResult struct {
	// Trigger is the trigger's name.
	Trigger string
	// Triggered is the condition's value.
	Triggered bool
	// Err is why the condition could not be evaluated.
	Err error
}

// Evaluation is what evaluating one app decided.
type Evaluation struct {
	// State is the app's new notified state.
	State State
	// Changed reports whether State differs from the one evaluated from.
	Changed bool
	// Sends are the notifications to send, once State is saved.
	Sends []Send
	// Results are every condition's outcome.
	Results []TriggerResult
	// Problems are settings the app's subscriptions need and that are
	// missing (a trigger, a service, a template); those subscriptions
	// wait, unnotified, until they are fixed.
	Problems []string
}

// Env is the environment of conditions for an app (the Application as
// unstructured JSON): app, context, secrets and the helper namespaces
// time, strings and repo.
func (c *Config) Env(app map[string]any) map[string]any {
	return map[string]any{
		"app":     app,
		"context": maps.Clone(c.Context),
		"secrets": c.secrets,
		"time":    timeFuncs(c.Now),
		"strings": stringFuncs,
		"repo":    repoFuncs,
	}
}

// Evaluate runs the triggers of dests against env (from Env) and works
// out, from state (which it does not modify), which notifications to
// send now.
func (c *Config) Evaluate(env map[string]any, dests Destinations, state State, now time.Time) Evaluation {
	ev := Evaluation{State: maps.Clone(state)}
	if ev.State == nil {
		ev.State = State{}
	}
	for _, trigger := range dests.Triggers() {
		conds, ok := c.Triggers[trigger]
		if !ok {
			ev.Problems = append(ev.Problems, fmt.Sprintf("trigger %q is not configured", trigger))
			continue
		}
		var to []Destination
		for _, d := range dests[trigger] {
			if _, ok := c.Services[d.Service]; !ok {
				ev.Problems = append(ev.Problems, fmt.Sprintf("service %q (trigger %s) is not configured", d.Service, trigger))
				continue
			}
			to = append(to, d)
		}
		for _, r := range evaluate(conds, env) {
			ev.Results = append(ev.Results, TriggerResult{Trigger: trigger, Triggered: r.Triggered, Err: r.Err})
			if missing := c.missingTemplate(r.Templates); missing != "" {
				ev.Problems = append(ev.Problems, fmt.Sprintf("template %q (trigger %s) is not configured", missing, trigger))
				continue
			}
			for _, d := range to {
				send, changed := ev.State.transition(trigger, r, d, now.Unix())
				ev.Changed = ev.Changed || changed
				if send {
					ev.Sends = append(ev.Sends, Send{Trigger: trigger, Templates: r.Templates, To: d, Key: stateKey(trigger, r, d)})
				}
			}
		}
	}
	return ev
}

func (c *Config) missingTemplate(names []string) string {
	for _, n := range names {
		if _, ok := c.Templates[n]; !ok {
			return n
		}
	}
	return ""
}

// Message renders the templates of s for its destination from env.
func (c *Config) Message(env map[string]any, s Send) (*Message, error) {
	return c.Render(s.Templates, c.templateVars(env, s.To))
}
