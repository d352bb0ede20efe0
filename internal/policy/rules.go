package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/slipwayhq/slipway/internal/repoconfig"
	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// RuleCostLimit bounds the work one rule may do on one object, in CEL cost
// units (roughly one per value visited; about a microsecond each). A rule
// over a real manifest costs tens of units; the limit stops one from
// spinning on a hostile manifest, such as a list of a million containers.
const RuleCostLimit = 100_000

// evaluationBudget bounds the work of all rules in one Evaluate, so that a
// PR cannot add thousands of objects that each run a rule to its limit.
// Objects left when it is spent are violations. A variable for tests.
var evaluationBudget uint64 = 10_000_000

// Rules are the compiled CEL rules of every environment of one config.
// The zero value holds no rules. Safe for concurrent use.
type Rules struct {
	byEnv map[string][]CompiledRule
}

// For returns env's rules in config order.
func (r Rules) For(env string) []CompiledRule { return r.byEnv[env] }

// CompiledRule is one policy rule ready to run against rendered objects.
type CompiledRule struct {
	Name    string
	Match   repoconfig.Match
	Expr    string
	Message string
	// Server marks a rule of the server config rather than the repository's.
	Server  bool
	program cel.Program
}

// CompileRules compiles every environment's rules. A rule that does not
// compile, does not give a bool, has no expression or reuses a name is a
// config error: the error is a strictyaml.Errors pointing at the line.
func CompileRules(cfg *repoconfig.Config) (Rules, error) {
	rules := Rules{byEnv: map[string][]CompiledRule{}}
	if cfg == nil {
		return rules, nil
	}
	env, err := celEnv()
	if err != nil {
		return Rules{}, fmt.Errorf("set up CEL: %w", err)
	}
	var errs strictyaml.Errors
	fail := func(key, format string, args ...any) {
		errs = append(errs, &strictyaml.Error{File: cfg.Source(), Line: cfg.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for i, e := range cfg.Environments {
		seen := map[string]int{}
		for j, r := range e.Policy.Rules {
			key := fmt.Sprintf("environments[%d].policy.rules[%d]", i, j)
			if first, dup := seen[r.Name]; dup && r.Name != "" {
				fail(key+".name", "rule %q is already defined at policy.rules[%d]", r.Name, first)
			} else {
				seen[r.Name] = j
			}
			if strings.TrimSpace(r.Expr) == "" {
				// Parse reports this too; kept for configs built in code.
				fail(key+".expr", "is required: a CEL expression over object")
				continue
			}
			prg, msg := compile(env, r.Expr)
			if msg != "" {
				fail(key+".expr", "%s", msg)
				continue
			}
			rules.byEnv[e.Name] = append(rules.byEnv[e.Name], CompiledRule{
				Name: r.Name, Match: r.Match, Expr: r.Expr, Message: r.Message, program: prg,
			})
		}
	}
	if len(errs) > 0 {
		return Rules{}, errs
	}
	return rules, nil
}

// CompileServerRule compiles a rule of the server config (a repos entry's
// rules), which the repository's config cannot remove: its items are
// marked as the server's. The error is one line for the user, without the
// key or line, which the caller knows.
func CompileServerRule(r repoconfig.Rule) (CompiledRule, error) {
	if strings.TrimSpace(r.Expr) == "" {
		return CompiledRule{}, fmt.Errorf("is required: a CEL expression over object")
	}
	env, err := celEnv()
	if err != nil {
		return CompiledRule{}, fmt.Errorf("set up CEL: %w", err)
	}
	prg, msg := compile(env, r.Expr)
	if msg != "" {
		return CompiledRule{}, fmt.Errorf("%s", msg)
	}
	return CompiledRule{Name: r.Name, Match: r.Match, Expr: r.Expr, Message: r.Message, Server: true, program: prg}, nil
}

func celEnv() (*cel.Env, error) {
	// cel.NewEnv brings the standard library, including the all, exists,
	// exists_one, map, filter and has macros.
	return cel.NewEnv(
		cel.Variable("object", cel.DynType),
		ext.Strings(),
	)
}

// compile returns the program for expr, or a one-line message for the user.
func compile(env *cel.Env, expr string) (cel.Program, string) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, issues(iss, strings.Contains(expr, "\n"))
	}
	// Every field of object is dyn, so most rules are dyn-typed at compile
	// time; only an expression known to give something else is rejected
	// here. A dyn rule that gives a non-bool fails at evaluation instead.
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Sprintf("must give true or false, but gives %s (compare it, e.g. ... == 'x')", t)
	}
	prg, err := env.Program(ast,
		cel.CostLimit(RuleCostLimit),
		cel.InterruptCheckFrequency(100),
	)
	if err != nil {
		return nil, err.Error()
	}
	return prg, ""
}

// issues flattens CEL's multi-line report (message, source line, caret)
// into one line: the key and line already say where the expression is.
func issues(iss *cel.Issues, multiline bool) string {
	var parts []string
	for _, e := range iss.Errors() {
		where := fmt.Sprintf("column %d", e.Location.Column()+1)
		if multiline {
			where = fmt.Sprintf("line %d column %d of the expression", e.Location.Line(), e.Location.Column()+1)
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", e.Message, where))
	}
	if len(parts) == 0 {
		return iss.Err().Error()
	}
	return strings.Join(parts, "; ")
}

// matches reports whether the rule applies to obj. Kinds compare exactly,
// as Kubernetes spells them; a cluster-scoped object has no namespace and
// so never matches a namespace list.
func (r *CompiledRule) matches(obj *unstructured.Unstructured) bool {
	if len(r.Match.Kinds) > 0 && !slices.Contains(r.Match.Kinds, obj.GetKind()) {
		return false
	}
	if len(r.Match.Namespaces) > 0 && !slices.Contains(r.Match.Namespaces, obj.GetNamespace()) {
		return false
	}
	return true
}

// check runs the rule on obj. It returns "" when the rule holds and the
// violation message otherwise, with the cost spent either way. A rule that
// cannot be evaluated (a missing key, a wrong type, the cost limit) is a
// violation, not a pass: a policy must fail closed. Rules make a field
// optional with has(), e.g.
// `!has(object.spec.hostNetwork) || !object.spec.hostNetwork`.
func (r *CompiledRule) check(ctx context.Context, obj *unstructured.Unstructured) (msg string, cost uint64) {
	defer func() {
		// CEL converts Go values defensively, but a rule must never take
		// the server down whatever a manifest contains.
		if p := recover(); p != nil {
			msg = fmt.Sprintf("rule could not be evaluated: %v", p)
		}
		msg = withholdSecrets(msg, obj)
	}()
	out, details, err := r.program.ContextEval(ctx, map[string]any{"object": obj.Object})
	if details != nil && details.ActualCost() != nil {
		cost = *details.ActualCost()
	}
	if err != nil {
		return "rule could not be evaluated: " + err.Error(), cost
	}
	ok, isBool := out.Value().(bool)
	switch {
	case !isBool:
		return fmt.Sprintf("rule could not be evaluated: it gave %s, not true or false", out.Type().TypeName()), cost
	case ok:
		return "", cost
	case r.Message != "":
		return r.Message, cost
	default:
		return "expression is false: " + r.Expr, cost
	}
}

// budgetSpent stands in for evaluation once evaluationBudget is used up.
const budgetSpent = "rule could not be evaluated: the rules used up their evaluation budget before reaching this object"

// evaluateRule checks one rule against every matching object, adding the
// cost to *spent.
func evaluateRule(ctx context.Context, r *CompiledRule, objects []*unstructured.Unstructured, spent *uint64) Item {
	item := Item{Kind: ItemRule, Name: r.Name, Server: r.Server}
	matched := 0
	for _, obj := range objects {
		if obj == nil || !r.matches(obj) {
			continue
		}
		matched++
		msg := budgetSpent
		if *spent < evaluationBudget {
			var cost uint64
			msg, cost = r.check(ctx, obj)
			*spent += cost
		}
		if msg != "" {
			item.Violations = append(item.Violations, Violation{Object: objectName(obj), Message: msg})
		}
	}
	switch n := len(item.Violations); {
	case matched == 0:
		item.Met, item.Reason = true, "no object matches"
	case n == 0:
		item.Met, item.Reason = true, fmt.Sprintf("%d %s %s", matched, plural(matched, "object", "objects"), plural(matched, "passes", "pass"))
	case r.Message != "":
		item.Reason = fmt.Sprintf("%d of %d %s %s: %s", n, matched, plural(matched, "object", "objects"), plural(n, "violates", "violate"), r.Message)
	default:
		item.Reason = fmt.Sprintf("%d of %d %s %s", n, matched, plural(matched, "object", "objects"), plural(n, "violates", "violate"))
	}
	return item
}

// objectName is Kind/namespace/name, or Kind/name when cluster-scoped.
func objectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return obj.GetKind() + "/" + ns + "/" + obj.GetName()
	}
	return obj.GetKind() + "/" + obj.GetName()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
