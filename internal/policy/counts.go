package policy

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// pushers says who put the head commit on the pull request; their approval
// of their own push does not count, as with GitHub's "require approval of
// the most recent reviewable push". The recorded pushers decide; when none
// is recorded (a plan made by /plan, a re-run or a resync after a lost
// webhook), the head commit's author and committer stand in for them. The
// directory is asked at most once, and only when an approval needs it.
type pushers struct {
	in    Input
	dir   Directory
	asked bool
	why   map[string]string // lower-case login → what they did to the head commit
	err   error
}

// excluded returns why user's approval does not count because they pushed
// (or wrote) the head commit, "" when it may count. An error means GitHub
// could not say who wrote the commit: then no approval can be trusted.
func (p *pushers) excluded(ctx context.Context, user string) (string, error) {
	if !p.asked {
		p.asked = true
		p.why = map[string]string{}
		for _, u := range p.in.Pushers {
			p.why[strings.ToLower(u)] = "pushed the head commit"
		}
		if len(p.why) == 0 {
			author, committer, err := p.dir.CommitAuthors(ctx, p.in.HeadSHA)
			if err != nil {
				p.err = fmt.Errorf("could not learn who wrote the head commit %s, so no approval counts: %w", short(p.in.HeadSHA), err)
			}
			if committer != "" {
				p.why[strings.ToLower(committer)] = "committed the head commit"
			}
			if author != "" {
				p.why[strings.ToLower(author)] = "authored the head commit"
			}
		}
	}
	if p.err != nil {
		return "", p.err
	}
	if what, ok := p.why[strings.ToLower(user)]; ok {
		return user + " " + what + ", so their approval does not count", nil
	}
	return "", nil
}

// beforePlan returns why an approval submitted at t does not count for the
// current plan: it was given before that plan was published, so the
// approver cannot have seen it. GitHub keeps whole seconds, so both sides
// are compared at that grain and a review in the same second as the
// publication counts: refusing it would refuse an approval given the
// moment a plan appeared.
func beforePlan(user string, t time.Time, plan PlanState, head string) string {
	switch {
	case plan.Digest == "":
		return fmt.Sprintf("%s approved before any plan of %s was published", user, short(head))
	case t.Truncate(time.Second).Before(plan.PublishedAt.Truncate(time.Second)):
		return fmt.Sprintf("%s approved before the current plan (%s) was published", user, shortDigest(plan.Digest))
	}
	return ""
}

// shortDigest abbreviates "sha256:<64 hex>" to the algorithm and 12 hex
// digits, as the plan comment shows it.
func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12] + "…"
}

func appendOnce(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}
