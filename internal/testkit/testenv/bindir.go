package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The binaries tools/testbin/build.sh puts into the cache directory. Kept in
// one place so BinDir's check and the code that runs them cannot disagree.
const (
	binEtcd              = "etcd"
	binAPIServer         = "kube-apiserver"
	binControllerManager = "kube-controller-manager"
	binScheduler         = "kube-scheduler"
	binKwok              = "kwok"
	fileKwokStages       = "kwok-stages.yaml"
)

var requiredFiles = []string{binEtcd, binAPIServer, binControllerManager, binScheduler, binKwok, fileKwokStages}

// buildHint is part of every "binary missing" error, so whoever reads a
// failed test knows the one command that fixes it.
const buildHint = "run `make testbin` (tools/testbin/build.sh) to build them"

// BinDir returns the directory holding the control plane binaries, located by
// the same rule as tools/testbin/build.sh: $SLIPWAY_TESTBIN, else
// $XDG_CACHE_HOME/slipway/testbin, else $HOME/.cache/slipway/testbin. It fails,
// naming `make testbin`, when the directory or any binary in it is missing.
func BinDir() (string, error) {
	dir, err := binDirPath(os.Getenv)
	if err != nil {
		return "", err
	}
	var missing []string
	for _, name := range requiredFiles {
		fi, err := os.Stat(filepath.Join(dir, name))
		switch {
		case err != nil:
			missing = append(missing, name)
		case !strings.HasSuffix(name, ".yaml") && fi.Mode()&0o111 == 0:
			missing = append(missing, name+" (not executable)")
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("testenv: missing test binaries in %s: %s; %s",
			dir, strings.Join(missing, ", "), buildHint)
	}
	return dir, nil
}

// binDirPath applies the location rule without touching the file system;
// getenv is a parameter so the rule can be tested without changing the
// process environment.
func binDirPath(getenv func(string) string) (string, error) {
	if dir := getenv("SLIPWAY_TESTBIN"); dir != "" {
		return dir, nil
	}
	cache := getenv("XDG_CACHE_HOME")
	if cache == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("testenv: neither SLIPWAY_TESTBIN, XDG_CACHE_HOME nor HOME is set, cannot locate the test binaries; " + buildHint)
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "slipway", "testbin"), nil
}
