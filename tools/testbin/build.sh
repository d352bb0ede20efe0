#!/usr/bin/env bash
# Builds the test control plane binaries into a cache directory, once per
# version set: kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
# kwok, plus kwok's "fast" stages, and Flux's source- and kustomize-controller
# (flux.sh). Everything comes from the Go module proxy.
#
#   tools/testbin/build.sh [DIR]   (default: $SLIPWAY_TESTBIN or ~/.cache/slipway/testbin)
set -euo pipefail

KUBE_VERSION=v1.37.1
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
STAMP="kube=${KUBE_VERSION} etcd=${ETCD_VERSION} kwok=${KWOK_VERSION}"

here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-${SLIPWAY_TESTBIN:-${XDG_CACHE_HOME:-$HOME/.cache}/slipway/testbin}}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# Flux's controllers have their own stamp: adding them does not rebuild
# the control plane, nor the other way round.
"$here/flux.sh" "$out"

if [[ -f "$out/STAMP" && "$(cat "$out/STAMP")" == "$STAMP" ]]; then
	echo "testbin: up to date in $out ($STAMP)"
	exit 0
fi
rm -f "$out/STAMP"

minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
	ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
done

export CGO_ENABLED=0 GOFLAGS=-mod=mod
echo "testbin: building Kubernetes ${KUBE_VERSION} control plane into $out (about 5 minutes the first time)"
(cd "$here/kube" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out/" \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler)

echo "testbin: building etcd ${ETCD_VERSION}"
(cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$out/etcd" .)

echo "testbin: building kwok ${KWOK_VERSION}"
GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"

# kwok's "fast" stages: node/fast, node/heartbeat-with-lease and pod/fast.
kwokdir="$(go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
stages="$kwokdir/kustomize/stage"
: > "$out/kwok-stages.yaml"
for d in node/fast node/heartbeat-with-lease pod/fast; do
	for f in $(sed -n 's/^- \(.*\.yaml\)$/\1/p' "$stages/$d/kustomization.yaml"); do
		printf -- '---\n' >> "$out/kwok-stages.yaml"
		cat "$stages/$d/$f" >> "$out/kwok-stages.yaml"
	done
done

echo "$STAMP" > "$out/STAMP"
echo "testbin: done ($STAMP)"
