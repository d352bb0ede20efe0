package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/provenance"
)

// resolveDependencies adds to a committed chart the dependencies its
// Chart.yaml lists and its charts/ directory does not vendor, as `helm
// dependency build` would put them there: file:// ones from the
// repository (never outside it), the others fetched by the server (a
// *NeedCharts when not given yet), at the version Chart.lock pins. A
// Chart.lock out of step with Chart.yaml is an error, as helm's is.
func resolveDependencies(src *source, ch *chart.Chart) error {
	deps := ch.Metadata.Dependencies
	if len(deps) == 0 {
		return nil
	}
	chartFile := chartFileOf(src)
	if err := checkLock(src, ch); err != nil {
		return err
	}
	var needs []Need
	for _, dep := range deps {
		if dep == nil || vendored(ch, dep.Name) {
			continue
		}
		repo := dep.Repository
		switch {
		case repo == "":
			continue // missingDependencies says what to do
		case strings.HasPrefix(repo, "file://"):
			sub, err := loadLocalDependency(src, dep)
			if err != nil {
				return err
			}
			ch.AddDependency(sub)
		case strings.HasPrefix(repo, "@") || strings.HasPrefix(repo, "alias:"):
			return &Error{File: chartFile, Msg: fmt.Sprintf("dependency %s names its repository %q by a local name; slipway has no repository list: write the repository's URL", dep.Name, repo)}
		case strings.HasPrefix(repo, "https://") || strings.HasPrefix(repo, "http://") || strings.HasPrefix(repo, "oci://"):
			version, err := pinnedVersion(src, ch, dep)
			if err != nil {
				return err
			}
			ref := ChartRef{Repo: repo, Name: dep.Name, Version: version}
			fc, ok := src.opts.chart(ref)
			if !ok {
				needs = append(needs, Need{ChartRef: ref, File: chartFile})
				continue
			}
			sub, err := loadFetched(fc, chartFile)
			if err != nil {
				return err
			}
			ch.AddDependency(sub)
		default:
			return &Error{File: chartFile, Msg: fmt.Sprintf("dependency %s: repository %q must be an https://, http:// or oci:// URL, or file:// inside the repository", dep.Name, repo)}
		}
	}
	if len(needs) > 0 {
		return &NeedCharts{Needs: needs}
	}
	return nil
}

// vendored reports whether charts/ holds a chart of that name, as helm's
// loader found it.
func vendored(ch *chart.Chart, name string) bool {
	return slices.ContainsFunc(ch.Dependencies(), func(c *chart.Chart) bool { return c.Name() == name })
}

// checkLock compares Chart.lock's digest with the digest of Chart.yaml's
// dependencies and the lock's, as 'helm dependency build' does.
func checkLock(src *source, ch *chart.Chart) error {
	if ch.Lock == nil {
		return nil
	}
	sum, err := hashReq(ch.Metadata.Dependencies, ch.Lock.Dependencies)
	if err != nil || sum != ch.Lock.Digest {
		return &Error{File: path.Join(src.rel, "Chart.lock"), Msg: fmt.Sprintf("Chart.lock is out of sync with the dependencies in Chart.yaml (its digest is %s, theirs %s): run 'helm dependency update' and commit Chart.lock", ch.Lock.Digest, sum)}
	}
	return nil
}

// hashReq is helm's digest of a chart's dependencies and its lock
// (internal/resolver.HashReq, which helm does not export): the digest
// Chart.lock records.
func hashReq(req, lock []*chart.Dependency) (string, error) {
	data, err := json.Marshal([2][]*chart.Dependency{req, lock})
	if err != nil {
		return "", err
	}
	s, err := provenance.Digest(bytes.NewBuffer(data))
	return "sha256:" + s, err
}

// pinnedVersion is the one version of a fetched dependency: Chart.lock's
// when there is a lock, else Chart.yaml's, which must then be exact.
func pinnedVersion(src *source, ch *chart.Chart, dep *chart.Dependency) (string, error) {
	if ch.Lock != nil {
		for _, l := range ch.Lock.Dependencies {
			if l != nil && l.Name == dep.Name && strings.TrimSuffix(l.Repository, "/") == strings.TrimSuffix(dep.Repository, "/") {
				if _, err := semver.StrictNewVersion(l.Version); err != nil {
					return "", &Error{File: path.Join(src.rel, "Chart.lock"), Msg: fmt.Sprintf("dependency %s is locked at %q, which is not one version", dep.Name, l.Version)}
				}
				return l.Version, nil
			}
		}
		return "", &Error{File: path.Join(src.rel, "Chart.lock"), Msg: fmt.Sprintf("dependency %s from %s is not in Chart.lock: run 'helm dependency update' and commit Chart.lock", dep.Name, dep.Repository)}
	}
	if _, err := semver.StrictNewVersion(dep.Version); err != nil {
		return "", &Error{File: chartFileOf(src), Msg: fmt.Sprintf("dependency %s has version %q, which is not one exact version: pin it, or run 'helm dependency update' and commit Chart.lock", dep.Name, dep.Version)}
	}
	return dep.Version, nil
}

// loadLocalDependency loads a file:// dependency: a chart directory
// relative to the chart, read through the jail like the chart itself, so
// it cannot lead outside the repository.
func loadLocalDependency(src *source, dep *chart.Dependency) (*chart.Chart, error) {
	rel := strings.TrimPrefix(dep.Repository, "file://")
	chartFile := chartFileOf(src)
	if rel == "" || filepath.IsAbs(rel) || path.IsAbs(rel) {
		return nil, &Error{File: chartFile, Msg: fmt.Sprintf("dependency %s: %s must be a path relative to the chart, inside the repository", dep.Name, dep.Repository)}
	}
	dir := filepath.Join(src.dir, filepath.FromSlash(rel))
	if !within(src.jail.root, dir) {
		return nil, &Error{File: chartFile, Msg: fmt.Sprintf("dependency %s: %s is outside the repository; renders may only read files inside it", dep.Name, dep.Repository)}
	}
	_, fi, err := src.jail.stat(dir)
	switch {
	case err != nil:
		return nil, &Error{File: chartFile, Msg: fmt.Sprintf("dependency %s: %s", dep.Name, src.jail.errorAt(src.jail.show(dir), err).Error())}
	case fi == nil || !fi.IsDir():
		return nil, &Error{File: chartFile, Msg: fmt.Sprintf("dependency %s: %s is not a chart directory", dep.Name, dep.Repository)}
	}
	files, err := chartFilesAt(src, dir)
	if err != nil {
		return nil, err
	}
	sub, err := loader.LoadFiles(files)
	if err != nil {
		return nil, &Error{File: path.Join(src.jail.show(dir), "Chart.yaml"), Msg: src.jail.relativize(err.Error())}
	}
	if sub.Name() != dep.Name {
		return nil, &Error{File: chartFile, Msg: fmt.Sprintf("dependency %s: %s holds chart %s", dep.Name, dep.Repository, sub.Name())}
	}
	return sub, nil
}
