package repoconfig

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// Environment names appear in check run names, commands and Deployment
// records, so they stay simple.
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func (c *Config) validate() strictyaml.Errors {
	var errs strictyaml.Errors
	fail := func(key, format string, args ...any) {
		errs = append(errs, &strictyaml.Error{File: c.source, Line: c.positions.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Version != 1 {
		fail("version", "must be 1, got %d", c.Version)
	}
	if len(c.Environments) == 0 {
		fail("environments", "list at least one environment")
	}
	seen := map[string]int{}
	for i, e := range c.Environments {
		key := fmt.Sprintf("environments[%d]", i)
		switch {
		case e.Name == "":
			fail(key+".name", "is required")
		case !nameRE.MatchString(e.Name):
			fail(key+".name", "%q must be lower-case letters, digits and dashes", e.Name)
		default:
			if j, dup := seen[e.Name]; dup {
				fail(key+".name", "environment %q is already defined at environments[%d]", e.Name, j)
			}
			seen[e.Name] = i
		}
		switch clean := path.Clean(e.Path); {
		case e.Path == "":
			fail(key+".path", "is required: the directory holding this environment's manifests")
		case path.IsAbs(e.Path) || clean == ".." || strings.HasPrefix(clean, "../"):
			fail(key+".path", "%q must be a path inside the repository", e.Path)
		}
		if e.Cluster == "" {
			fail(key+".cluster", "is required: a cluster named in the server config")
		}
		if msg := validateServiceAccount(&e); msg != "" {
			fail(key+".service_account", "%s", msg)
		}
		oneOf(fail, key+".mode", e.Mode, ModeOnMerge, ModeBeforeMerge)
		validateReconciler(fail, key, &e)
		oneOf(fail, key+".drift", e.Drift, DriftReport, DriftReconcile, DriftOff)
		oneOf(fail, key+".lock", e.Lock, LockOnPlan, LockOnApply)
		if e.Wait.Duration < 0 {
			fail(key+".wait", "must not be negative")
		}
		if e.Helm != nil {
			validateHelmChart(fail, key+".helm", e.Helm)
			for j, v := range e.Helm.Values {
				// Relative to the chart; the renderer keeps it inside the repository.
				if v == "" || path.IsAbs(v) {
					fail(fmt.Sprintf("%s.helm.values[%d]", key, j), "%q must be a path relative to the chart", v)
				}
			}
		}
		p := e.Policy
		if p.Approvals < 0 {
			fail(key+".policy.approvals", "must not be negative")
		}
		for j, r := range p.Require {
			oneOf(fail, fmt.Sprintf("%s.policy.require[%d]", key, j), r, RequireMergeable, RequirePlanCurrent, RequireChecksGreen)
		}
		for j, who := range append(slices.Clone(p.Approvers), p.Appliers...) {
			if who == "" || strings.Count(who, "/") > 1 {
				k := fmt.Sprintf("%s.policy.approvers[%d]", key, j)
				if j >= len(p.Approvers) {
					k = fmt.Sprintf("%s.policy.appliers[%d]", key, j-len(p.Approvers))
				}
				fail(k, "must be a user login or org/team, got %q", who)
			}
		}
		for j, r := range p.Rules {
			rk := fmt.Sprintf("%s.policy.rules[%d]", key, j)
			if r.Name == "" {
				fail(rk+".name", "is required")
			}
			if strings.TrimSpace(r.Expr) == "" {
				fail(rk+".expr", "is required: a CEL expression over object")
			}
		}
		oneOf(fail, key+".plan.verify", e.Plan.Verify, VerifyChanged, VerifyAll)
		for j, ig := range e.Ignore {
			ik := fmt.Sprintf("%s.ignore[%d]", key, j)
			if len(ig.Paths) == 0 {
				fail(ik+".paths", "list the JSON pointers to ignore, e.g. /spec/replicas")
			}
			for k, ptr := range ig.Paths {
				if !strings.HasPrefix(ptr, "/") {
					fail(fmt.Sprintf("%s.paths[%d]", ik, k), "%q must be a JSON pointer starting with /", ptr)
				}
			}
		}
	}
	for i, e := range c.Environments {
		for j, dep := range e.DependsOn {
			dk := fmt.Sprintf("environments[%d].depends_on[%d]", i, j)
			switch _, ok := seen[dep]; {
			case !ok:
				fail(dk, "no environment is named %q%s", dep, hint(dep, c.Names()))
			case dep == e.Name:
				fail(dk, "an environment cannot depend on itself")
			}
		}
	}
	if len(errs) == 0 {
		if cycle := c.findCycle(); cycle != nil {
			fail("environments", "depends_on forms a cycle: %s", strings.Join(cycle, " → "))
		}
	}
	return errs
}

// validateHelmChart checks a chart reference and its version: a version
// only with a reference, and then exactly one.
func validateHelmChart(fail func(string, string, ...any), key string, h *Helm) {
	if h.Chart == nil {
		if h.Version != "" {
			fail(key+".version", "is only for helm.chart; a committed chart's version is in its Chart.yaml")
		}
		return
	}
	if msg := h.Chart.check(); msg != "" {
		fail(key+".chart", "%s", msg)
	}
	if msg := checkExactVersion(h.Version); msg != "" {
		fail(key+".version", "%s", msg)
	}
}

func oneOf(fail func(string, string, ...any), key, val string, allowed ...string) {
	if val != "" && !slices.Contains(allowed, val) {
		fail(key, "must be one of %s; got %q%s", strings.Join(allowed, ", "), val, hint(val, allowed))
	}
}

func hint(word string, names []string) string {
	if best := strictyaml.Closest(word, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// findCycle returns one depends_on cycle, or nil.
func (c *Config) findCycle() []string {
	deps := map[string][]string{}
	for _, e := range c.Environments {
		deps[e.Name] = e.DependsOn
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		state[n] = visiting
		stack = append(stack, n)
		for _, d := range deps[n] {
			switch state[d] {
			case visiting:
				i := slices.Index(stack, d)
				return append(slices.Clone(stack[i:]), d)
			case unvisited:
				if cyc := visit(d); cyc != nil {
					return cyc
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, e := range c.Environments {
		if state[e.Name] == unvisited {
			if cyc := visit(e.Name); cyc != nil {
				return cyc
			}
		}
	}
	return nil
}

// Order returns names with every environment after its dependencies,
// otherwise in file order: the order merge-to-deploy reconciles them.
func (c *Config) Order(names []string) []string {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []string
	placed := map[string]bool{}
	var place func(string)
	place = func(n string) {
		if placed[n] {
			return
		}
		placed[n] = true
		if e, ok := c.Environment(n); ok {
			for _, d := range e.DependsOn {
				place(d)
			}
		}
		if want[n] {
			out = append(out, n)
		}
	}
	for _, e := range c.Environments {
		place(e.Name)
	}
	return out
}
