package workflow

import (
	"strings"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/report"
)

// isFork reports whether pr's head is not a branch of repo itself: a fork,
// or a repository GitHub no longer shows (a deleted fork).
func isFork(pr *gh.PR, repo gh.Repo) bool {
	return pr.HeadRepo == "" || !strings.EqualFold(pr.HeadRepo, repo.String())
}

// forkGate decides whether a plan of pr may run for req. A fork's head is
// its owner's code: the renderers run it (Helm templates, Kustomize) and the
// plan reads the cluster with this repository's rights. So it is planned
// only when a user with write permission asks with /plan, as GitHub asks a
// maintainer to approve an outside contributor's workflow run. For an
// automatic plan, note says so, for the sticky comment; a re-run of a check
// is not a /plan, and leaves the comment as it is.
func forkGate(pr *gh.PR, repo gh.Repo, req PlanRequest) (plan bool, note string) {
	if !isFork(pr, repo) || req.ByWriter {
		return true, ""
	}
	if !req.Auto {
		return false, ""
	}
	from := "the fork " + pr.HeadRepo
	if pr.HeadRepo == "" {
		from = "a repository GitHub no longer shows (a deleted fork?)"
	}
	return false, report.ForkNotPlanned(from, repo.String())
}
