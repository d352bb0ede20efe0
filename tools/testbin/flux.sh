#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller into the testbin
# directory, with the CRDs they serve, once per version: the tests that run
# Flux for real (testenv.StartFlux) start them against the test API server.
# Everything comes from the Go module proxy. build.sh calls it; on its own:
#
#   tools/testbin/flux.sh DIR
#
# The first build takes about 10-15 minutes on two busy cores (two large
# module graphs: cloud SDKs, go-git, helm); later runs skip it.
set -euo pipefail

FLUX_VERSIONS="source-controller=v1.9.6 kustomize-controller=v1.9.6"

here="$(cd "$(dirname "$0")" && pwd)"
out="$1"
mkdir -p "$out"
if [[ -f "$out/FLUX_STAMP" && "$(cat "$out/FLUX_STAMP")" == "$FLUX_VERSIONS" ]]; then
	echo "testbin: Flux up to date in $out ($FLUX_VERSIONS)"
	exit 0
fi
rm -f "$out/FLUX_STAMP"

export CGO_ENABLED=0 GOFLAGS=-mod=mod
crds="$out/flux-crds.yaml.tmp"
: > "$crds"
for c in source kustomize; do
	echo "testbin: building Flux ${c}-controller (the first time takes several minutes)"
	(cd "$here/flux/$c" && go build -trimpath -ldflags "-s -w" -o "$out/${c}-controller" "github.com/fluxcd/${c}-controller")
	dir="$(cd "$here/flux/$c" && go list -m -f '{{.Dir}}' "github.com/fluxcd/${c}-controller")"
	for f in "$dir"/config/crd/bases/*.yaml; do
		printf -- '---\n' >> "$crds"
		cat "$f" >> "$crds"
	done
done
mv "$crds" "$out/flux-crds.yaml"
echo "$FLUX_VERSIONS" > "$out/FLUX_STAMP"
echo "testbin: Flux done ($FLUX_VERSIONS)"
