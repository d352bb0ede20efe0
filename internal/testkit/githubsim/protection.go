package githubsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Branch protection's required status checks, enforced on merge (the API
// and Sim.Merge) and on the merge queue as GitHub enforces them.

// RequiredCheck is one of a branch's required status checks, the shape of
// GitHub's required_status_checks.checks[]: a check run name or commit
// status context, and the App expected to report it.
type RequiredCheck struct {
	Context string
	// AppID is the App whose check run counts; 0 lets any App's check run
	// or any commit status count, as GitHub's "any source" does.
	AppID int64
}

// SetRequiredChecks makes branch require checks before a pull request
// into it merges or a merge group lands on it; none removes the rule.
func (s *Sim) SetRequiredChecks(fullName, branch string, checks []RequiredCheck) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(fullName)
	if err != nil {
		return err
	}
	if len(checks) == 0 {
		delete(r.required, branch)
		return nil
	}
	r.required[branch] = slices.Clone(checks)
	return nil
}

// requiredProblem is why sha may not land on branch under its required
// checks ("" when it may), worded as GitHub words a refused merge.
func (s *Sim) requiredProblem(r *repo, branch, sha string) string {
	for _, rc := range r.required[branch] {
		switch s.requiredState(r, rc, sha) {
		case "missing":
			return fmt.Sprintf("Required status check %q is expected.", rc.Context)
		case "failing":
			return fmt.Sprintf("Required status check %q is failing.", rc.Context)
		}
	}
	return ""
}

// requiredState is "passing", "failing" or "missing" (absent or still
// running): the newest check run of that name from the expected App, or,
// with no App pinned, the newest run from any App or commit status.
func (s *Sim) requiredState(r *repo, rc RequiredCheck, sha string) string {
	for i := len(r.checkRuns) - 1; i >= 0; i-- {
		cr := r.checkRuns[i]
		if cr.run.GetHeadSHA() != sha || cr.run.GetName() != rc.Context || (rc.AppID != 0 && cr.appID(s) != rc.AppID) {
			continue
		}
		switch {
		case cr.run.GetStatus() != "completed":
			return "missing"
		case slices.Contains([]string{"success", "neutral", "skipped"}, cr.run.GetConclusion()):
			return "passing"
		}
		return "failing"
	}
	if rc.AppID != 0 && rc.AppID != s.opts.AppID {
		return "missing" // commit statuses here are all the simulated App's
	}
	for _, st := range latestStatuses(r, sha) {
		if st.GetContext() == rc.Context {
			switch st.GetState() {
			case "success":
				return "passing"
			case "pending":
				return "missing"
			}
			return "failing"
		}
	}
	return "missing"
}

// protectionRefusal refuses a merge into branch at sha that its required
// checks do not allow, as GitHub's 405.
func (s *Sim) protectionRefusal(r *repo, branch, sha string) error {
	if why := s.requiredProblem(r, branch, sha); why != "" {
		return refuse(http.StatusMethodNotAllowed, why)
	}
	return nil
}

// isProtected reports whether branch has required checks.
func (r *repo) isProtected(branch string) bool {
	return len(r.required[strings.TrimPrefix(branch, "refs/heads/")]) > 0
}
