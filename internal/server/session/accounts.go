package session

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Capabilities an account may have (argocd-cm accounts.<name>).
const (
	CapabilityLogin  = "login"
	CapabilityAPIKey = "apiKey"
)

// AdminAccount is the built-in account.
const AdminAccount = "admin"

// Account is a local account as Argo CD keeps it: declared in argocd-cm
// (accounts.<name>: "apiKey, login"; accounts.<name>.enabled), with its
// password hash, the time the password last changed and its API keys in
// argocd-secret.
type Account struct {
	Name         string
	Enabled      bool
	Capabilities []string
	// PasswordHash is the bcrypt hash; empty when none is set.
	PasswordHash []byte
	// PasswordMtime is when the password last changed; tokens issued
	// before it are refused. Zero when unknown.
	PasswordMtime time.Time
	// Tokens are the API keys issued to the account.
	Tokens []Token
}

// Token is an issued API key, as recorded in argocd-secret
// accounts.<name>.tokens (JSON).
type Token struct {
	ID        string `json:"id"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp,omitempty"`
}

// Has reports whether the account has capability c.
func (a *Account) Has(c string) bool {
	for _, have := range a.Capabilities {
		if have == c {
			return true
		}
	}
	return false
}

// HasToken reports whether id is one of the account's API keys.
func (a *Account) HasToken(id string) bool {
	for _, t := range a.Tokens {
		if t.ID == id {
			return true
		}
	}
	return false
}

// Accounts reads every local account from argocd-cm's and argocd-secret's
// data. The admin account exists unless admin.enabled is "false"; it may
// log in and has no API keys unless argocd-cm says otherwise. Lines that
// do not parse give an account no capability rather than an error, so one
// bad line locks out one account, never everyone.
func Accounts(cm map[string]string, secret map[string][]byte) map[string]*Account {
	accounts := map[string]*Account{}
	for key, value := range cm {
		name, ok := strings.CutPrefix(key, "accounts.")
		if !ok || strings.Contains(name, ".") || name == "" {
			continue
		}
		accounts[name] = &Account{Name: name, Enabled: cm[key+".enabled"] != "false", Capabilities: parseCapabilities(value)}
	}
	admin := accounts[AdminAccount]
	if admin == nil {
		admin = &Account{Name: AdminAccount, Capabilities: []string{CapabilityLogin}}
		accounts[AdminAccount] = admin
	}
	admin.Enabled = cm["admin.enabled"] != "false"
	for name, a := range accounts {
		prefix := "accounts." + name
		if name == AdminAccount {
			prefix = "admin"
		}
		a.PasswordHash = secret[prefix+".password"]
		if mtime, err := time.Parse(time.RFC3339, string(secret[prefix+".passwordMtime"])); err == nil {
			a.PasswordMtime = mtime
		}
		if raw := secret["accounts."+name+".tokens"]; len(raw) > 0 {
			_ = json.Unmarshal(raw, &a.Tokens) // unreadable: no API key is valid
		}
	}
	return accounts
}

func parseCapabilities(s string) []string {
	var caps []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c == CapabilityLogin || c == CapabilityAPIKey {
			caps = append(caps, c)
		}
	}
	sort.Strings(caps)
	return caps
}

// String names the account and its capabilities, for logs.
func (a *Account) String() string {
	return fmt.Sprintf("%s (%s)", a.Name, strings.Join(a.Capabilities, ", "))
}
