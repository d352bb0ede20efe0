// Package command parses pull-request comments into slipway commands: a pure
// function from text to a command or a reply.
package command

import (
	"slices"
	"strings"
	"unicode"

	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// Verb is what a comment asks slipway to do.
type Verb string

// The verbs of DESIGN.md "Comment commands".
const (
	Plan   Verb = "plan"
	Apply  Verb = "apply"
	Unlock Verb = "unlock"
	// Rollback takes one environment back to a commit it ran before,
	// after review: /rollback ENV [SHA].
	Rollback Verb = "rollback"
	Help     Verb = "help"
)

// verbs is in the order help lists them and ties in "did you mean" resolve.
var verbs = []string{string(Plan), string(Apply), string(Unlock), string(Rollback), string(Help)}

// Command is one parsed comment command.
type Command struct {
	Verb Verb
	// Envs are the named environments in their configured spelling, in the
	// order given, without duplicates. Empty means all affected environments.
	Envs []string
	// Force is /unlock's --force: release the named environments' locks
	// even when another pull request holds them. Only /unlock takes it, and
	// only with environments named.
	Force bool
	// Ref is /rollback's commit (7 to 40 hex digits, lower-cased); empty
	// means the environment's last good deploy before its current one.
	Ref string
}

// ForceFlag is the one option the grammar knows, for /unlock only.
const ForceFlag = "--force"

const (
	// maxLine bounds the first line: nobody types a command this long, and
	// refusing early keeps a pasted megabyte from costing anything.
	maxLine = 1000
	// maxRawLine bounds how far we look for the end of the first line, so a
	// huge comment is never scanned past its start (trailing spaces allowed).
	maxRawLine = 4 * maxLine
	// slashReach is how far (in edits) a "/word" may be from a verb and still
	// count as addressed to slipway. GitHub users type many slash things
	// (/cc, /shrug, /assign, /lgtm) that other bots or nobody handle; replying
	// "unknown command" to each would be noise. So "/word" is ours only when
	// it is a verb or a plausible typo of one, otherwise it is ignored.
	slashReach = 2
)

// Parse reads the first line of body. ok=false means the comment is not
// addressed to slipway at all (ignore silently). When it is addressed to
// slipway but wrong, reply says what is wrong (report.CommandReply words
// the answer to post) and cmd is nil.
//
// Forms: "/plan [ENV ...]", "/apply [ENV ...]", "/unlock [ENV ...] [--force]",
// "/help", and the alias "@<appSlug> <verb> ...". Verbs, options and
// environment names are case-insensitive; environments come back in their
// configured spelling. Environment names may be separated by spaces or
// commas; a word starting with "-" is an option (environment names cannot
// start with one), anywhere after the verb.
func Parse(body, appSlug string, envs []string) (cmd *Command, reply *Reply, ok bool) {
	line, ok := firstLine(body)
	if !ok {
		return nil, nil, false
	}
	// A quoted reply ("> /apply") or a code fence shows a command, it does
	// not give one. Neither would match below anyway; this states the rule.
	if strings.HasPrefix(line, ">") || strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~") {
		return nil, nil, false
	}
	words := strings.FieldsFunc(line, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	if len(words) == 0 {
		return nil, nil, false
	}

	var (
		verb   string   // lower-cased verb as typed
		typed  string   // the command as the user wrote it, for replies
		prefix string   // how to write a command in the user's form
		args   []string // words after the verb
	)
	switch first := words[0]; {
	case strings.HasPrefix(first, "/"):
		verb = strings.ToLower(first[1:])
		if !nearVerb(verb) {
			return nil, nil, false
		}
		typed, prefix, args = first, "/", words[1:]
	case appSlug != "" && strings.EqualFold(first, "@"+appSlug):
		// Mentioning the app is always addressed to it, whatever follows.
		if len(words) == 1 {
			return nil, &Reply{Problem: AskedForHelp, AppSlug: appSlug, Envs: envs}, true
		}
		// "@slipway /plan" is forgiven: the slash is what the user knows.
		verb = strings.ToLower(strings.TrimPrefix(words[1], "/"))
		typed, prefix, args = first+" "+words[1], "@"+appSlug+" ", words[2:]
	default:
		return nil, nil, false
	}

	problem := func(p Problem, typed string) *Reply {
		return &Reply{Problem: p, Prefix: prefix, Verb: Verb(verb), Typed: typed, AppSlug: appSlug, Envs: envs}
	}
	switch Verb(verb) {
	case Help:
		return &Command{Verb: Help}, nil, true // arguments to help mean nothing
	case Rollback:
		return rollback(args, envs, problem)
	case Plan, Apply, Unlock:
	default:
		r := problem(UnknownCommand, typed)
		r.Suggest = strictyaml.Closest(verb, verbs)
		return nil, r, true
	}

	args, force, reply := options(Verb(verb), args, problem)
	if reply != nil {
		return nil, reply, true
	}
	named, unknown := resolveEnvs(args, envs)
	if len(unknown) > 0 {
		return nil, unknownEnvs(unknown, problem), true
	}
	if force && len(named) == 0 {
		return nil, problem(ForceNeedsEnvs, ""), true
	}
	return &Command{Verb: Verb(verb), Envs: named, Force: force}, nil, true
}

// options takes the options out of args: --force for /unlock, nothing else.
// reply is set when an option is unknown or given to a verb that takes none.
func options(verb Verb, args []string, problem func(Problem, string) *Reply) (rest []string, force bool, reply *Reply) {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			rest = append(rest, a)
			continue
		}
		opt := strings.ToLower(a)
		switch {
		case opt == ForceFlag && verb == Unlock:
			force = true
		case opt == ForceFlag:
			return nil, false, problem(ForceElsewhere, a)
		case verb != Unlock:
			return nil, false, problem(NoOptions, a)
		case strictyaml.Closest(strings.TrimLeft(opt, "-"), []string{"force"}) != "" || opt == "-f":
			return nil, false, problem(MisspeltForce, a)
		default:
			return nil, false, problem(UnknownUnlockOption, a)
		}
	}
	return rest, force, nil
}

// rollback parses /rollback's arguments: exactly one environment, then
// optionally a commit.
func rollback(args, envs []string, problem func(Problem, string) *Reply) (*Command, *Reply, bool) {
	if len(args) == 0 || len(args) > 2 {
		return nil, problem(RollbackArgs, ""), true
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return nil, problem(RollbackOption, a), true
		}
	}
	named, unknown := resolveEnvs(args[:1], envs)
	if len(unknown) > 0 {
		return nil, unknownEnvs(unknown, problem), true
	}
	cmd := &Command{Verb: Rollback, Envs: named}
	if len(args) == 2 {
		if !isCommit(args[1]) {
			return nil, problem(NotACommit, args[1]), true
		}
		cmd.Ref = strings.ToLower(args[1])
	}
	return cmd, nil, true
}

// isCommit reports whether s looks like an abbreviated or full commit id.
func isCommit(s string) bool {
	if len(s) < 7 || len(s) > 40 {
		return false
	}
	for _, r := range strings.ToLower(s) {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// exampleEnv is an environment to show in an example command.
func exampleEnv(envs []string) string {
	if len(envs) == 0 {
		return "ENV"
	}
	return envs[len(envs)-1]
}

// firstLine returns the first non-blank line of body, trimmed, or false when
// it is absurdly long. It never looks further than maxRawLine bytes into the
// line, however large body is.
func firstLine(body string) (string, bool) {
	body = strings.TrimLeftFunc(body, unicode.IsSpace)
	window := body[:min(len(body), maxRawLine)]
	if i := strings.IndexByte(window, '\n'); i >= 0 {
		window = window[:i]
	} else if len(body) > len(window) {
		return "", false
	}
	line := strings.TrimSpace(window) // also drops a Windows "\r"
	if line == "" || len(line) > maxLine {
		return "", false
	}
	return line, true
}

// nearVerb reports whether word is within slashReach edits of a verb.
func nearVerb(word string) bool {
	for _, v := range verbs {
		if abs(len(word)-len(v)) <= slashReach && strictyaml.Distance(word, v) <= slashReach {
			return true
		}
	}
	return false
}

// resolveEnvs maps args onto the configured environments case-insensitively,
// dropping repeats. Names that match nothing come back in unknown, also
// without repeats, as typed.
func resolveEnvs(args, envs []string) (named, unknown []string) {
	for _, a := range args {
		if env, ok := lookupEnv(a, envs); ok {
			if !slices.Contains(named, env) {
				named = append(named, env)
			}
		} else if !slices.ContainsFunc(unknown, func(u string) bool { return strings.EqualFold(u, a) }) {
			unknown = append(unknown, a)
		}
	}
	return named, unknown
}

func lookupEnv(name string, envs []string) (string, bool) {
	for _, e := range envs {
		if strings.EqualFold(name, e) {
			return e, true
		}
	}
	return "", false
}

// closestEnv is strictyaml.Closest, case-insensitive, in configured spelling.
func closestEnv(name string, envs []string) string {
	lower := make([]string, len(envs))
	for i, e := range envs {
		lower[i] = strings.ToLower(e)
	}
	best := strictyaml.Closest(strings.ToLower(name), lower)
	for i, l := range lower {
		if best != "" && l == best {
			return envs[i]
		}
	}
	return ""
}

// unknownEnvs is the reply naming the unknown environments, each with the
// closest configured one.
func unknownEnvs(unknown []string, problem func(Problem, string) *Reply) *Reply {
	r := problem(UnknownEnvs, "")
	for _, name := range unknown {
		r.Unknown = append(r.Unknown, UnknownEnv{Name: name, Suggest: closestEnv(name, r.Envs)})
	}
	return r
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
