// Package helm is Tether's only use of the Helm SDK (v4): it reads chart
// repositories (HTTP indexes and OCI registries), loads and packages
// charts, composes values the way Flux does, renders charts the way Argo
// CD does (helm template) and runs releases (install, upgrade, test,
// rollback, uninstall) stored in Helm's own format, so that the helm CLI
// lists and inspects them.
//
// It knows nothing of Tether's API types: controllers turn their objects
// into the options here and the results back into their status.
package helm
