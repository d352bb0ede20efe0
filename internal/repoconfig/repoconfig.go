// Package repoconfig parses and validates a repository's .slipway.yaml: its
// environments, how each is rendered, where it goes and what guards it.
package repoconfig

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// FileName is where the config lives, at the repository root.
const FileName = ".slipway.yaml"

// Modes, drift settings, lock timings and requirements a config may name.
const (
	ModeOnMerge     = "on-merge"
	ModeBeforeMerge = "before-merge"

	DriftReport    = "report"
	DriftReconcile = "reconcile"
	DriftOff       = "off"

	LockOnPlan  = "on-plan"
	LockOnApply = "on-apply"

	RequireMergeable   = "mergeable"
	RequirePlanCurrent = "plan-current"
	RequireChecksGreen = "checks-green"

	// VerifyChanged (the default) dry-runs only the objects that may have
	// changed since slipway applied them; VerifyAll dry-runs every object,
	// for clusters whose mutating admission changes objects on every apply.
	VerifyChanged = "changed"
	VerifyAll     = "all"
)

// Defaults for keys an environment leaves out.
const (
	DefaultMode  = ModeOnMerge
	DefaultDrift = DriftReport
	DefaultLock  = LockOnPlan
	DefaultWait  = 5 * time.Minute
)

// File is a whole .slipway.yaml.
type File struct {
	Version int `yaml:"version"`
	// AutoplanDrafts plans draft pull requests on push too (default false:
	// drafts are planned only on /plan).
	AutoplanDrafts bool          `yaml:"autoplan_drafts"`
	Environments   []Environment `yaml:"environments"`
}

// Environment is one target: a path in the repository rendered and applied
// to a namespace of a cluster.
type Environment struct {
	Name      string   `yaml:"name"`
	Path      string   `yaml:"path"`
	Cluster   string   `yaml:"cluster"`
	Namespace string   `yaml:"namespace"`
	Mode      string   `yaml:"mode"`
	Autoplan  *bool    `yaml:"autoplan"`
	Prune     *bool    `yaml:"prune"`
	Wait      Duration `yaml:"wait"`
	Lock      string   `yaml:"lock"`
	Drift     string   `yaml:"drift"`
	DependsOn []string `yaml:"depends_on"`
	Helm      *Helm    `yaml:"helm"`
	Policy    Policy   `yaml:"policy"`
	Ignore    []Ignore `yaml:"ignore"`
	Plan      Planning `yaml:"plan"`
	// URL is where the environment is reached, shown on its Deployments.
	URL string `yaml:"url"`
	// Production marks its Deployments as production ones.
	Production bool `yaml:"production"`
	// ServiceAccount is who slipway plans and applies as in the cluster:
	// NAME (in the environment's namespace) or NAMESPACE/NAME. slipway
	// impersonates it, so the service account's RBAC bounds what this
	// environment's manifests can touch. The server config bounds which
	// ones a repository may name, and may set a default. Empty: that
	// default, or slipway's own identity.
	ServiceAccount string `yaml:"service_account"`
	// Reconciler, when set, is the Flux or Argo CD object that applies
	// this environment; slipway plans it, triggers and records it, and
	// never applies it itself (see reconciler.go).
	Reconciler *Reconciler `yaml:"reconciler"`
}

// Helm says how to render a chart: the one committed at the environment's
// path, or the one Chart names.
type Helm struct {
	// Values are values files, later ones winning: relative to the chart
	// directory, or to the environment's path when Chart is set.
	Values  []string `yaml:"values"`
	Release string   `yaml:"release"`
	// Chart names a chart outside the repository; Version is then its
	// exact version. Unset: the path holds a Chart.yaml.
	Chart   *ChartRef `yaml:"chart"`
	Version string    `yaml:"version"`
}

// Policy guards an environment: who approves, who applies, what must hold.
type Policy struct {
	Approvals int      `yaml:"approvals"`
	Approvers []string `yaml:"approvers"`
	Appliers  []string `yaml:"appliers"`
	Require   []string `yaml:"require"`
	Rules     []Rule   `yaml:"rules"`
}

// Rule is a CEL expression every matching rendered object must satisfy.
type Rule struct {
	Name    string `yaml:"name"`
	Match   Match  `yaml:"match"`
	Expr    string `yaml:"expr"`
	Message string `yaml:"message"`
}

// Match selects objects by kind and namespace; empty lists match all.
type Match struct {
	Kinds      []string `yaml:"kinds"`
	Namespaces []string `yaml:"namespaces"`
}

// Ignore names fields another controller owns (an HPA's spec.replicas, an
// injected sidecar): they are neither shown in the diff nor applied.
type Ignore struct {
	Kind      string   `yaml:"kind"`
	Namespace string   `yaml:"namespace"`
	Name      string   `yaml:"name"`
	Paths     []string `yaml:"paths"` // JSON pointers, e.g. /spec/replicas
}

// Planning tunes how an environment is planned.
type Planning struct {
	// Verify is VerifyChanged (default, "") or VerifyAll.
	Verify string `yaml:"verify"`
}

// VerifiesAll reports whether every object is dry-run, unchanged ones too.
func (e *Environment) VerifiesAll() bool { return e.Plan.Verify == VerifyAll }

// Duration is a time.Duration written as "5m"; "0" disables.
type Duration struct {
	time.Duration
	Set bool
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "0" {
		*d = Duration{Set: true}
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("expected a duration like 90s or 5m (0 disables), got %q", n.Value)
	}
	*d = Duration{Duration: v, Set: true}
	return nil
}

// Config is a parsed, validated .slipway.yaml with defaults filled in.
type Config struct {
	File
	// BlobSHA is the git blob sha of the file as the repository holds it,
	// set by whoever read it from there ("" otherwise). Plans digest it, so
	// a config change between review and /apply refuses the apply.
	BlobSHA   string
	positions strictyaml.Positions
	source    string
}

// Environment returns the environment named name.
func (c *Config) Environment(name string) (*Environment, bool) {
	for i := range c.Environments {
		if c.Environments[i].Name == name {
			return &c.Environments[i], true
		}
	}
	return nil, false
}

// Names lists the environments in file order.
func (c *Config) Names() []string {
	names := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		names[i] = e.Name
	}
	return names
}

// Line is the line a key path (e.g. environments[1].path) starts on, for
// errors found after parsing (a render failure, an unknown cluster).
func (c *Config) Line(key string) int { return c.positions.Line(key) }

// Source is the file name errors should name.
func (c *Config) Source() string { return c.source }

// AutoplanEnabled reports the autoplan setting (default true).
func (e *Environment) AutoplanEnabled() bool { return e.Autoplan == nil || *e.Autoplan }

// PruneEnabled reports the prune setting (default true).
func (e *Environment) PruneEnabled() bool { return e.Prune == nil || *e.Prune }

// WaitTimeout is the health wait after apply; 0 means do not wait.
func (e *Environment) WaitTimeout() time.Duration {
	if !e.Wait.Set {
		return DefaultWait
	}
	return e.Wait.Duration
}

// Parse decodes and validates data; source names the file in errors. The
// error, when not nil, is a strictyaml.Errors listing every problem with
// its line.
func Parse(source string, data []byte) (*Config, error) {
	var f File
	pos, err := strictyaml.Decode(source, data, &f)
	if err != nil {
		return nil, err
	}
	c := &Config{File: f, positions: pos, source: source}
	if errs := c.validate(); len(errs) > 0 {
		return nil, errs
	}
	c.fillDefaults()
	return c, nil
}

func (c *Config) fillDefaults() {
	for i := range c.Environments {
		e := &c.Environments[i]
		fillReconcilerDefaults(e)
		if e.Mode == "" {
			e.Mode = DefaultMode
		}
		if e.Drift == "" {
			e.Drift = DefaultDrift
		}
		if e.Lock == "" {
			e.Lock = DefaultLock
		}
		if e.Helm != nil && e.Helm.Release == "" {
			e.Helm.Release = e.Name
		}
	}
}
