// Package gitserve serves bare Git repositories over Git's smart HTTP
// protocol on loopback, through `git http-backend` (net/http/cgi). It is
// the Git server of `make demo`, and internal/testenv/gitserver builds the
// tests' Git server on it.
//
//	srv, err := gitserve.Start(gitserve.Options{Dir: ".local/demo/git"})
//	if err != nil {
//		return err
//	}
//	defer srv.Stop()
//	repo, commit, err := srv.CreateRepoFromDir(ctx, "argocd-example-apps",
//		"test/e2e/testdata/argocd-example-apps")
//	// repo.URL is srv.URL + "/argocd-example-apps.git": its branch master
//	// (and HEAD) point at commit, which holds the folder's files.
//
// Every git process runs with a private HOME and no system configuration
// (see Git), so the machine's Git settings cannot change what is served.
// Repositories answer fetches of any commit by hash and accept pushes.
// The server has no authentication of its own and listens on 127.0.0.1
// unless told otherwise; Options.Wrap can check credentials or record
// requests.
//
// The git command must be installed; Tether itself does not need it.
package gitserve
