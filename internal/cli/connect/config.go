package connect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// Config is the CLI's file of contexts, in the shape of Argo CD's
// ~/.config/argocd/config: which servers the user logged in to, with which
// token, and which one commands use.
type Config struct {
	// CurrentContext names the context commands use.
	CurrentContext string `json:"current-context,omitempty"`
	// Contexts pair a server with a user.
	Contexts []Context `json:"contexts,omitempty"`
	// Servers say how to reach each server.
	Servers []Server `json:"servers,omitempty"`
	// Users hold each context's token.
	Users []User `json:"users,omitempty"`
}

// Context is one login.
type Context struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	User   string `json:"user"`
}

// Server is one API server.
type Server struct {
	Server    string `json:"server"`
	Insecure  bool   `json:"insecure,omitempty"`
	PlainText bool   `json:"plain-text,omitempty"`
}

// User is one login's token.
type User struct {
	Name      string `json:"name"`
	AuthToken string `json:"auth-token,omitempty"`
	// RefreshToken is the SSO provider's refresh token, when it gave one
	// at an SSO login.
	RefreshToken string `json:"refresh-token,omitempty"`
}

// DefaultConfigPath is ~/.config/tether/config (or under
// $XDG_CONFIG_HOME).
func DefaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return filepath.Join(".tether", "config")
	}
	return filepath.Join(dir, "tether", "config")
}

// ReadConfig reads the file at path; a missing file is an empty config.
func ReadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &c, nil
}

// Write stores c at path with mode 0600 (it holds tokens), replacing the
// file at once so that a reader never sees half of it.
func (c *Config) Write(path string) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Lookup returns the context named name ("" for the current one) with its
// server and user; ok is false when there is none.
func (c *Config) Lookup(name string) (ctx Context, srv Server, user User, ok bool) {
	if name == "" {
		name = c.CurrentContext
	}
	for _, x := range c.Contexts {
		if x.Name == name {
			ctx, ok = x, true
		}
	}
	if !ok {
		return ctx, srv, user, false
	}
	srv.Server = ctx.Server
	for _, s := range c.Servers {
		if s.Server == ctx.Server {
			srv = s
		}
	}
	for _, u := range c.Users {
		if u.Name == ctx.User {
			user = u
		}
	}
	return ctx, srv, user, true
}

// Upsert records a login as context name (made current).
func (c *Config) Upsert(name string, srv Server, token string) {
	c.RemoveContext(name)
	c.Contexts = append(c.Contexts, Context{Name: name, Server: srv.Server, User: name})
	c.Users = append(c.Users, User{Name: name, AuthToken: token})
	kept := c.Servers[:0]
	for _, s := range c.Servers {
		if s.Server != srv.Server {
			kept = append(kept, s)
		}
	}
	c.Servers = append(kept, srv)
	c.CurrentContext = name
}

// RemoveContext forgets context name and its token; it reports whether
// there was one.
func (c *Config) RemoveContext(name string) bool {
	found := false
	ctxs := c.Contexts[:0]
	for _, x := range c.Contexts {
		if x.Name == name {
			found = true
			continue
		}
		ctxs = append(ctxs, x)
	}
	c.Contexts = ctxs
	users := c.Users[:0]
	for _, u := range c.Users {
		if u.Name != name {
			users = append(users, u)
		}
	}
	c.Users = users
	if c.CurrentContext == name {
		c.CurrentContext = ""
	}
	return found
}
