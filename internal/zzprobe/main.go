package main

import (
	_ "github.com/fluxcd/pkg/ssa"
	_ "sigs.k8s.io/kustomize/api/krusty"
)

func main() {}
