package argo

import (
	"encoding/json"
	"sort"
)

// State is what was already notified for one app, kept in its
// NotifiedAnnotation as upstream keeps it (state key -> Unix time sent),
// so that a restart, or another replica, does not send again. A key is
// "[<oncePer value>:]<trigger>:<condition key>:<service>:<recipient>".
type State map[string]int64

// maxStateEntries bounds the annotation: the oldest entries go first.
const maxStateEntries = 100

// ParseState reads the annotation's value; anything unreadable is an
// empty state, as upstream treats it.
func ParseState(v string) State {
	s := State{}
	if v == "" {
		return s
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil || s == nil {
		return State{}
	}
	return s
}

// stateKey is the key of a condition's result for one destination.
func stateKey(trigger string, r Result, d Destination) string {
	key := trigger + ":" + r.Key + ":" + d.Service + ":" + d.Recipient
	if r.OncePer != "" {
		key = r.OncePer + ":" + key
	}
	return key
}

// transition records a condition's result for a destination and reports
// whether it is to be sent now: a condition that turns true is sent
// once; one that turns false is forgotten, so that it is sent again when
// it next turns true, unless it has an oncePer (its value was sent, and
// stays so).
func (s State) transition(trigger string, r Result, d Destination, now int64) (send, changed bool) {
	key := stateKey(trigger, r, d)
	_, notified := s[key]
	switch {
	case r.Triggered && !notified:
		s[key] = now
		return true, true
	case !r.Triggered && notified && r.OncePer == "":
		delete(s, key)
		return false, true
	}
	return false, false
}

// Encode is the annotation's value, the oldest entries dropped past
// maxStateEntries; "" when empty.
func (s State) Encode() string {
	if len(s) > maxStateEntries {
		keys := make([]string, 0, len(s))
		for k := range s {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if s[keys[i]] != s[keys[j]] {
				return s[keys[i]] < s[keys[j]]
			}
			return keys[i] < keys[j]
		})
		for _, k := range keys[:len(s)-maxStateEntries] {
			delete(s, k)
		}
	}
	if len(s) == 0 {
		return ""
	}
	b, _ := json.Marshal(map[string]int64(s))
	return string(b)
}
