package chartsrc

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// pullOCI pulls the chart layer of repoURL/name:version with helm's
// registry client, which checks every blob against its digest. The client
// is made for this pull: its credentials are the entry's alone (never a
// docker or helm credentials file on the server), and its requests go
// through the guard.
func (f *Fetcher) pullOCI(ctx context.Context, entry *source, repoURL, name, version string) ([]byte, error) {
	hc := f.client(ctx, entry, false)
	authorizer := &auth.Client{
		Client: hc,
		Credential: func(_ context.Context, hostport string) (auth.Credential, error) {
			if entry.Username == "" || !strings.EqualFold(hostport, entry.host) {
				return auth.EmptyCredential, nil
			}
			pw, err := entry.password()
			if err != nil {
				return auth.EmptyCredential, err
			}
			return auth.Credential{Username: entry.Username, Password: pw}, nil
		},
	}
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(hc),
		registry.ClientOptAuthorizer(*authorizer),
		registry.ClientOptWriter(io.Discard),
		// A file that does not exist: helm's client would otherwise read
		// the server user's registry logins.
		registry.ClientOptCredentialsFile(filepath.Join(f.cache.dir, "tmp", "no-registry-logins.json")),
	}
	if entry.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	// helm tags a version's "+" as "_" in registries.
	ref := strings.TrimPrefix(repoURL, "oci://") + "/" + name + ":" + strings.ReplaceAll(version, "+", "_")
	res, err := client.Pull(ref)
	if err != nil {
		return nil, err
	}
	if res.Chart == nil || len(res.Chart.Data) == 0 {
		return nil, fmt.Errorf("%s holds no chart", ref)
	}
	if m := res.Chart.Meta; m != nil && (m.Name != name || m.Version != version) {
		return nil, fmt.Errorf("%s holds chart %s %s, not %s %s", ref, m.Name, m.Version, name, version)
	}
	return res.Chart.Data, nil
}
