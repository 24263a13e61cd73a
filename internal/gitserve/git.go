package gitserve

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// serverConfig is passed to every git process through GIT_CONFIG_COUNT, so
// that fetching any commit by hash and pushing over HTTP work without
// touching the repositories' own config.
var serverConfig = [][2]string{
	{"uploadpack.allowReachableSHA1InWant", "true"},
	{"uploadpack.allowAnySHA1InWant", "true"},
	{"uploadpack.allowTipSHA1InWant", "true"},
	{"uploadpack.allowFilter", "true"},
	{"http.uploadpack", "true"},
	{"http.receivepack", "true"},
	{"init.defaultBranch", "master"},
	{"commit.gpgsign", "false"},
	{"tag.gpgsign", "false"},
}

// Git runs the git command apart from the user's and the machine's
// configuration: a private HOME, no system config, no prompts, and the
// server's settings.
type Git struct {
	// Path is the git executable.
	Path string
	// Home is the HOME of every git process.
	Home string
	// Name and Email author and commit the commits git makes.
	Name, Email string
}

// NewGit finds git on PATH and creates home. Commits are made by "Tether
// <tether@example.invalid>" until Name and Email are changed.
func NewGit(home string) (*Git, error) {
	path, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("the git command is needed to serve repositories: %w", err)
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, fmt.Errorf("git home: %w", err)
	}
	return &Git{Path: path, Home: home, Name: "Tether", Email: "tether@example.invalid"}, nil
}

// Env is the environment of a git process: the caller's environment
// without GIT_* variables (a program run from a Git hook has GIT_DIR set)
// and without HOME and friends, plus IsolatedEnv.
func (g *Git) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GIT_"), name == "HOME", name == "XDG_CONFIG_HOME",
			name == "SSH_ASKPASS", name == "EMAIL":
			continue
		}
		env = append(env, kv)
	}
	return append(env, g.IsolatedEnv()...)
}

// IsolatedEnv are the variables that keep git away from the user's and
// the system's configuration and give it the server's settings and
// identity.
func (g *Git) IsolatedEnv() []string {
	config := append(append([][2]string{}, serverConfig...),
		[2]string{"user.name", g.Name}, [2]string{"user.email", g.Email})
	env := []string{
		"HOME=" + g.Home,
		"XDG_CONFIG_HOME=" + filepath.Join(g.Home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(config)),
	}
	for i, kv := range config {
		env = append(env,
			fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]),
			fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env
}

// Command returns `git args...` to run in dir with Env; ctx kills it.
func (g *Git) Command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, g.Path, args...)
	cmd.Dir = dir
	cmd.Env = g.Env()
	return cmd
}

// Run runs `git args...` in dir and returns its trimmed standard output.
// The error names the command and folder and carries git's messages.
func (g *Git) Run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := g.Command(ctx, dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err,
			strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
