package command

// Problem names what is wrong with a comment addressed to slipway that is
// not a command it can run. report words the answer (report.CommandReply).
type Problem string

// The problems Parse finds.
const (
	// AskedForHelp: the App mentioned alone; the answer is the help.
	AskedForHelp Problem = "asked-for-help"
	// UnknownCommand: Typed is no verb; Suggest is the closest, if any.
	UnknownCommand Problem = "unknown-command"
	// ForceElsewhere: --force given to Verb, which is not /unlock.
	ForceElsewhere Problem = "force-elsewhere"
	// NoOptions: the option Typed given to Verb, which takes none.
	NoOptions Problem = "no-options"
	// MisspeltForce: the option Typed looks like --force.
	MisspeltForce Problem = "misspelt-force"
	// UnknownUnlockOption: the option Typed given to /unlock.
	UnknownUnlockOption Problem = "unknown-unlock-option"
	// ForceNeedsEnvs: --force without environments.
	ForceNeedsEnvs Problem = "force-needs-envs"
	// RollbackArgs: /rollback without exactly one environment.
	RollbackArgs Problem = "rollback-args"
	// RollbackOption: the option Typed given to /rollback.
	RollbackOption Problem = "rollback-option"
	// NotACommit: Typed, given to /rollback as its commit, is not one.
	NotACommit Problem = "not-a-commit"
	// UnknownEnvs: Unknown names no configured environment.
	UnknownEnvs Problem = "unknown-envs"
)

// Reply is what Parse found wrong, with what an answer needs to help.
type Reply struct {
	Problem Problem
	// Prefix is how the commenter writes a command: "/" or "@app ".
	Prefix string
	Verb   Verb
	// Typed is what the commenter wrote that is wrong, as written: an
	// answer must quote it safely.
	Typed string
	// Suggest is the closest verb, when there is one.
	Suggest string
	// Unknown are the environment names that match none, with the closest
	// configured one for each.
	Unknown []UnknownEnv
	// AppSlug and Envs are the App's name and the repository's environments.
	AppSlug string
	Envs    []string
}

// UnknownEnv is an environment name that matches none, with the closest
// configured one ("" when none is close).
type UnknownEnv struct{ Name, Suggest string }

// Example is an environment to show in an example command.
func (r *Reply) Example() string { return exampleEnv(r.Envs) }
