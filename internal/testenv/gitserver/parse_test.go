package gitserver

import "testing"

func TestParseCommand(t *testing.T) {
	tests := []struct {
		command, service, repo string
		wantErr                bool
	}{
		{command: `git-upload-pack '/app.git'`, service: "git-upload-pack", repo: "app.git"},
		{command: `git-receive-pack '/org/app.git'`, service: "git-receive-pack", repo: "org/app.git"},
		{command: `git-upload-pack 'app.git'`, service: "git-upload-pack", repo: "app.git"},
		{command: `git-upload-pack '~/app.git'`, service: "git-upload-pack", repo: "app.git"},
		{command: `git upload-pack '/app.git/'`, service: "git-upload-pack", repo: "app.git"},
		{command: `git-upload-pack /app.git`, service: "git-upload-pack", repo: "app.git"},
		{command: `git-upload-pack '/it'\''s'\!'.git'`, service: "git-upload-pack", repo: "it's!.git"},
		{command: `git-upload-pack '/a/../../etc'`, wantErr: true},
		{command: `git-upload-pack '..'`, wantErr: true},
		{command: `git-upload-pack '/'`, wantErr: true},
		{command: `git-upload-pack`, wantErr: true},
		{command: `git-upload-pack '/app.git`, wantErr: true},
		{command: `git-upload-pack '/a.git' '/b.git'`, wantErr: true},
		{command: `git-upload-archive '/app.git'`, wantErr: true},
		{command: `sh -c 'id'`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			service, repo, err := parseCommand(tt.command)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseCommand = %q, %q; want an error", service, repo)
				}
				return
			}
			if err != nil || service != tt.service || repo != tt.repo {
				t.Errorf("parseCommand = %q, %q, %v; want %q, %q", service, repo, err, tt.service, tt.repo)
			}
		})
	}
}
