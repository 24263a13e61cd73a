package connect

import (
	"os"
	"path/filepath"
	"testing"
)

func TestConfigUpsertLookupRemove(t *testing.T) {
	var c Config
	c.Upsert("prod", Server{Server: "prod.example:443", Insecure: true}, "t1")
	c.Upsert("dev", Server{Server: "dev.example:443", PlainText: true}, "t2")
	c.Upsert("prod", Server{Server: "prod.example:443"}, "t3") // logs in again

	if c.CurrentContext != "prod" || len(c.Contexts) != 2 || len(c.Users) != 2 || len(c.Servers) != 2 {
		t.Fatalf("config after three logins: %+v", c)
	}
	ctx, srv, user, ok := c.Lookup("")
	if !ok || ctx.Name != "prod" || srv.Insecure || user.AuthToken != "t3" {
		t.Errorf("current context: %+v %+v %+v %v", ctx, srv, user, ok)
	}
	if _, srv, user, ok := c.Lookup("dev"); !ok || !srv.PlainText || user.AuthToken != "t2" {
		t.Errorf("dev: %+v %+v %v", srv, user, ok)
	}
	if !c.RemoveContext("prod") || c.CurrentContext != "" || len(c.Users) != 1 {
		t.Errorf("after removing prod: %+v", c)
	}
	if c.RemoveContext("prod") {
		t.Errorf("removed prod twice")
	}
	if _, _, _, ok := c.Lookup(""); ok {
		t.Errorf("a current context after removing it")
	}
}

func TestConfigWriteIsPrivateAndReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config")
	if c, err := ReadConfig(path); err != nil || len(c.Contexts) != 0 {
		t.Fatalf("a missing file: %+v, %v", c, err)
	}
	var c Config
	c.Upsert("x", Server{Server: "x:1"}, "secret-token")
	if err := c.Write(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", info.Mode(), err)
	}
	back, err := ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, u, ok := back.Lookup(""); !ok || u.AuthToken != "secret-token" {
		t.Errorf("read back %+v", back)
	}
	if err := os.WriteFile(path, []byte("contexts: [{name: x, unknown: 1}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfig(path); err == nil {
		t.Errorf("an unknown field was accepted")
	}
}

func TestUseCore(t *testing.T) {
	dir := t.TempDir()
	withContext := filepath.Join(dir, "with")
	var c Config
	c.Upsert("x", Server{Server: "x:1"}, "t")
	if err := c.Write(withContext); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(dir, "none")
	for _, tc := range []struct {
		name string
		opts Options
		want bool
	}{
		{"no context: the cluster", Options{ConfigPath: none}, true},
		{"a current context: the server", Options{ConfigPath: withContext}, false},
		{"--core wins", Options{ConfigPath: withContext, Core: true}, true},
		{"--kubeconfig implies --core", Options{ConfigPath: withContext, Kubeconfig: "k"}, true},
		{"--server wins over the flux habit", Options{ConfigPath: none, Server: "s:1", Prefer: PreferCore}, false},
		{"the flux habit", Options{ConfigPath: withContext, Prefer: PreferCore}, true},
		{"the argocd habit", Options{ConfigPath: none, Prefer: PreferServer}, false},
	} {
		if got := tc.opts.UseCore(); got != tc.want {
			t.Errorf("%s: UseCore = %v", tc.name, got)
		}
	}
}

func TestAPINeedsAServer(t *testing.T) {
	o := Options{ConfigPath: filepath.Join(t.TempDir(), "none")}
	if _, err := o.API(); err == nil {
		t.Errorf("a client without a server")
	}
	o.ContextName = "missing"
	if _, err := o.API(); err == nil {
		t.Errorf("a client for a missing context")
	}
}
