package chartsrctest

import (
	"io"

	"helm.sh/helm/v3/pkg/provenance"
)

// repoDigest is the digest `helm repo index` writes for an archive.
func repoDigest(r io.Reader) (string, error) { return provenance.Digest(r) }
