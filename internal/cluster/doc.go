// Package cluster turns the ways users name a Kubernetes cluster into
// clients: an Argo CD cluster Secret (label argocd.argoproj.io/secret-type:
// cluster, keys name, server, namespaces, clusterResources and config) and
// a Flux kubeconfig Secret (kubeConfig.secretRef). Both refuse credential
// plugins unless allowed (CVE-2022-24817) and files on Tether's own disk,
// and neither ever puts a credential into an error.
//
//	cl, err := cluster.Lookup(ctx, reader, "argocd", dest, cluster.Options{})
//	c, err := clients.For(cl.ID, cl.Config, scheme) // replaced when the Secret changes
package cluster
