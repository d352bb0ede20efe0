package command

import "strings"

// HelpText is the markdown answer to /help: the commands with one-line
// descriptions and the repository's environments.
func HelpText(appSlug string, envs []string) string {
	var b strings.Builder
	b.WriteString("**slipway commands** (comment on the pull request, one command per comment, first line only):\n\n")
	b.WriteString("- `/plan [ENV ...]`: re-plan all affected environments, or only those named\n")
	b.WriteString("- `/apply [ENV ...]`: apply the current plan before merging\n")
	b.WriteString("- `/unlock [ENV ...]`: release this pull request's environment locks (it works on closed pull requests too)\n")
	b.WriteString("- `/unlock ENV ... --force`: release the locks whoever holds them (repository admins and the server's `unlockers` only)\n")
	b.WriteString("- `/rollback ENV [SHA]`: take an on-merge environment back to a commit it ran before (default: the one before its current one); the first time plans it, the second applies it once the environment's policy passes for that plan\n")
	b.WriteString("- `/help`: show this message\n")
	if appSlug != "" {
		b.WriteString("\nYou can also write " + code("@"+appSlug+" plan …") + " instead of `/plan …`.\n")
	}
	b.WriteString("\n" + envList(envs))
	return b.String()
}

// envList names the repository's environments for help and error replies.
func envList(envs []string) string {
	if len(envs) == 0 {
		return "This repository has no environments configured yet."
	}
	quoted := make([]string, len(envs))
	for i, e := range envs {
		quoted[i] = code(e)
	}
	return "Environments in this repository: " + strings.Join(quoted, ", ") + "."
}
