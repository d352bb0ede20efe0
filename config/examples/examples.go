// Package examples holds the example configuration the documentation points
// at, embedded so that the demo and the tests use the very same files: shop/
// is a sample repository (.slipway.yaml, Kustomize overlays, a Helm chart)
// and server.yaml a server config for it.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed all:shop server.yaml
var files embed.FS

// ServerConfigName is the example server config's file name.
const ServerConfigName = "server.yaml"

// ServerConfig returns the example server config.
func ServerConfig() ([]byte, error) { return files.ReadFile(ServerConfigName) }

// Shop returns the sample repository's files, keyed by repository path.
func Shop() (map[string]string, error) {
	root, err := fs.Sub(files, "shop")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(root, path)
		if err != nil {
			return err
		}
		out[path] = string(data)
		return nil
	})
	return out, err
}
