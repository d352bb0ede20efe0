package report

import (
	"strings"

	"github.com/slipwayhq/slipway/internal/command"
)

// Help is the answer to /help: the commands with one-line descriptions and
// the repository's environments.
func Help(appSlug string, envs []string) string {
	var b strings.Builder
	b.WriteString("**slipway commands** (comment on the pull request, one command per comment, first line only):\n\n")
	b.WriteString("- `/plan [ENV ...]`: re-plan all affected environments, or only those named\n")
	b.WriteString("- `/apply [ENV ...]`: apply the current plan before merging\n")
	b.WriteString("- `/unlock [ENV ...]`: release this pull request's environment locks (it works on closed pull requests too)\n")
	b.WriteString("- `/unlock ENV ... --force`: release the locks whoever holds them (repository admins and the server's `unlockers` only)\n")
	b.WriteString("- `/rollback ENV [SHA]`: take an on-merge environment back to a commit it ran before (default: the one before its current one); the first time plans it, the second applies it once the environment's policy passes for that plan\n")
	b.WriteString("- `/help`: show this message\n")
	if appSlug != "" {
		b.WriteString("\nYou can also write " + quoted("@"+appSlug+" plan …") + " instead of `/plan …`.\n")
	}
	b.WriteString("\n" + envList(envs))
	return b.String()
}

// CommandReply answers a comment addressed to slipway that is not a
// command it can run (command.Parse's reply).
func CommandReply(r *command.Reply) string {
	force := quoted(command.ForceFlag)
	verb := quoted(r.Prefix + string(r.Verb))
	unlockExample := quoted(r.Prefix + string(command.Unlock) + " " + r.Example() + " " + command.ForceFlag)
	rollbackUsage := "name one environment and, optionally, the commit to go back to: " +
		quoted(r.Prefix+string(command.Rollback)+" "+r.Example()+" [SHA]") + "."
	switch r.Problem {
	case command.AskedForHelp:
		return Help(r.AppSlug, r.Envs)
	case command.UnknownCommand:
		if r.Suggest != "" {
			return "Unknown command " + echo(r.Typed) + ": did you mean " + quoted(r.Prefix+r.Suggest) + "?"
		}
		return "Unknown command " + echo(r.Typed) + ". Here is what I understand:\n\n" + Help(r.AppSlug, r.Envs)
	case command.ForceElsewhere:
		return force + " is only for " + quoted(r.Prefix+string(command.Unlock)) + ", to release another pull request's lock; " + verb + " takes no options."
	case command.NoOptions:
		return "Unknown option " + echo(r.Typed) + ": " + verb + " takes no options."
	case command.MisspeltForce:
		return "Unknown option " + echo(r.Typed) + ": did you mean " + force + ", as in " + unlockExample + "?"
	case command.UnknownUnlockOption:
		return "Unknown option " + echo(r.Typed) + ": " + quoted(r.Prefix+string(command.Unlock)) + " takes one option, " + force + "."
	case command.ForceNeedsEnvs:
		return "`" + command.ForceFlag + "` releases the named environments' locks, whoever holds them: name them, for example " + unlockExample + "."
	case command.RollbackArgs:
		return verb + " takes one environment: " + rollbackUsage
	case command.RollbackOption:
		return "Unknown option " + echo(r.Typed) + ": " + verb + " takes no options; " + rollbackUsage
	case command.NotACommit:
		return echo(r.Typed) + " is not a commit: " + rollbackUsage
	case command.UnknownEnvs:
		return unknownEnvs(r.Unknown, r.Envs)
	}
	return "I did not understand " + echo(r.Typed) + ".\n\n" + Help(r.AppSlug, r.Envs)
}

func unknownEnvs(unknown []command.UnknownEnv, envs []string) string {
	hint := func(u command.UnknownEnv) string {
		if u.Suggest != "" {
			return echo(u.Name) + ": did you mean " + quoted(u.Suggest) + "?"
		}
		return echo(u.Name)
	}
	var b strings.Builder
	if len(unknown) == 1 {
		line := hint(unknown[0])
		if !strings.HasSuffix(line, "?") {
			line += "."
		}
		b.WriteString("Unknown environment " + line + "\n\n")
	} else {
		b.WriteString("Unknown environments:\n")
		for _, u := range unknown {
			b.WriteString("- " + hint(u) + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(envList(envs))
	return b.String()
}

// envList names the repository's environments for help and error replies.
func envList(envs []string) string {
	if len(envs) == 0 {
		return "This repository has no environments configured yet."
	}
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = quoted(e)
	}
	return "Environments in this repository: " + strings.Join(names, ", ") + "."
}

// echo renders commenter-typed text as inline code that cannot break out
// of its backticks or flood the reply.
func echo(s string) string {
	const maxEcho = 40
	if r := []rune(s); len(r) > maxEcho {
		s = string(r[:maxEcho]) + "…"
	}
	return quoted(s)
}

// quoted renders s as inline code, a backtick in s becoming a quote.
func quoted(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}
