#!/usr/bin/env bash
# build.sh builds the test control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok) and kubectl at pinned versions into
# OUT (default: <repo>/.local/testcluster/bin) and writes kwok's stage file.
#
# A binary already built for the pinned versions is skipped. Built binaries
# are also kept in a per-machine cache (TETHER_CACHE_DIR, default
# ~/.cache/tether) so that a fresh clone on the same machine, such as CI's,
# gets them in seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${OUT:-$repo/.local/testcluster/bin}

KUBE_VERSION=v1.35.4
ETCD_VERSION=$(grep -oE "go.etcd.io/etcd/server/v3 v[0-9.]+" "$here/etcd/go.mod" | head -1 | cut -d" " -f2)
KWOK_VERSION=$(grep -oE "sigs.k8s.io/kwok v[0-9.]+" "$here/kwok/go.mod" | head -1 | cut -d" " -f2)
key="kube-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-$(go env GOVERSION)"
cache=${TETHER_CACHE_DIR:-$HOME/.cache/tether}/testcluster/$key

minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"

mkdir -p "$out" "$cache"

# build NAME MODULE_DIR PACKAGE [LDFLAGS]
build() {
	local name=$1 dir=$2 pkg=$3 ldflags=${4:--s -w}
	if [ -x "$out/$name" ] && [ "$(cat "$out/.$name.key" 2>/dev/null)" = "$key" ]; then
		return
	fi
	if [ ! -x "$cache/$name" ]; then
		echo "testcluster: building $name ($pkg); this takes minutes on a cold cache" >&2
		(cd "$here/$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$cache/$name.tmp" "$pkg")
		mv "$cache/$name.tmp" "$cache/$name"
	fi
	cp "$cache/$name" "$out/$name.tmp" && mv "$out/$name.tmp" "$out/$name"
	echo "$key" >"$out/.$name.key"
}

build etcd etcd go.etcd.io/etcd/server/v3
build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kube-scheduler kube k8s.io/kubernetes/cmd/kube-scheduler "$kube_ldflags"
build kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
# kubectl runs the seed's 14-backup.sh in the e2e tests.
build kubectl kube k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"
build kwok kwok sigs.k8s.io/kwok/cmd/kwok

# kwok's stages: nodes become Ready, pods become Ready, complete and go away.
stages=$(cd "$here/kwok" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
{
	first=1
	for f in node/fast/node-initialize.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml pod/fast/pod-ready.yaml; do
		[ $first = 1 ] || echo '---'
		first=0
		cat "$stages/$f"
	done
} >"$out/kwok-stages.yaml.tmp"
mv "$out/kwok-stages.yaml.tmp" "$out/kwok-stages.yaml"
echo "testcluster: binaries ready in $out" >&2
