// Package gitserver runs a real Git server on loopback for tests: the smart
// HTTP protocol through `git http-backend` (package internal/gitserve, which
// also serves `make demo`'s repository), with credentials checked and every
// request recorded, and, when asked, SSH through golang.org/x/crypto/ssh
// running `git upload-pack` and `git receive-pack`. Tests need the git
// command; Tether does not.
//
// A test creates a server and a repository, commits to it and points the
// code under test at Repo.URL or Repo.SSHURL:
//
//	srv := gitserver.New(t, gitserver.Options{Username: "u", Password: "p"})
//	repo := srv.CreateRepo(t, "app") // srv.URL + "/app.git"
//	first := repo.Commit(t, "master", map[string]string{
//		"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n...",
//	}, "add config map")
//	repo.Tag(t, "v1.0.0", first)
//	repo.Symlink(t, "master", "deploy/link", "../..", "add a link")
//
//	// ... fetch repo.URL with credentials u/p ...
//	if n := srv.UploadPacks("app.git"); n != 1 {
//		t.Errorf("fetched %d times, want 1", n)
//	}
//	srv.Stop() // from now on the server refuses connections
//
// Over SSH, the server lets in the one key in Options.AuthorizedKey, and
// clients check the host with Server.KnownHosts:
//
//	signer, _ := ssh.NewSignerFromKey(clientKey)
//	srv := gitserver.New(t, gitserver.Options{SSH: true, AuthorizedKey: signer.PublicKey()})
//	repo := srv.CreateRepo(t, "app") // repo.SSHURL is ssh://git@127.0.0.1:PORT/app.git
//	knownHosts := srv.KnownHosts()   // "[127.0.0.1]:PORT ssh-ed25519 AAAA..."
//
// Every repository accepts fetches of any commit by hash
// (uploadpack.allowAnySHA1InWant) and pushes over HTTP. Repo's helpers push
// through the file system, so Requests and UploadPacks show only what the
// code under test did. Git runs with a private HOME and no system config,
// so the user's settings cannot change the results. New registers Stop
// with t.Cleanup.
package gitserver
