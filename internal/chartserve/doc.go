// Package chartserve serves Helm charts on loopback for tests and `make
// demo`: Repo is a chart repository over HTTP(S) (index.yaml and .tgz
// archives), Registry an OCI registry that charts are pushed to with Helm's
// own registry client.
//
//	repo, err := chartserve.NewRepo(chartserve.RepoOptions{})
//	if err != nil {
//		return err
//	}
//	defer repo.Close()
//	a, err := repo.Publish("test/e2e/testdata/charts/podinfo", "6.0.1")
//	// repo.URL() + "/index.yaml" now lists podinfo 6.0.1, served at
//	// repo.URL() + "/" + a.Filename; repo.Requests("/index.yaml") counts
//	// the index's downloads.
//
//	reg, err := chartserve.NewRegistry(chartserve.RegistryOptions{})
//	if err != nil {
//		return err
//	}
//	defer reg.Close()
//	ref, digest, err := reg.PushChart(ctx, "test/e2e/testdata/charts/podinfo", "6.0.1")
//	// ref is reg.URL() + "/podinfo:6.0.1", that is
//	// "oci://127.0.0.1:PORT/charts/podinfo:6.0.1"; digest is the manifest's.
//
// Charts are loaded and packaged with the Helm SDK (Load, Package), with
// the version of Chart.yaml overridden, so one chart folder gives any
// number of versions. Both servers can ask for basic-auth credentials and
// serve HTTPS with a certificate of a certificate authority made in-process
// (CAPEM, CAFile). Both listen on 127.0.0.1 unless told otherwise and count
// the requests of every path, so tests can assert how often an index, an
// archive or a manifest was fetched.
package chartserve
