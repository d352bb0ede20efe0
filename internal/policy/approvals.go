package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// writePermissions may approve or apply when the config names nobody.
var writePermissions = map[string]bool{"admin": true, "maintain": true, "write": true}

// approvals counts approving reviews at the head from approvers other than
// the author, the way GitHub's own branch protection does: a reviewer's
// latest approving, change-requesting or dismissed review is their
// standing; comments leave it unchanged. An approval counts only if its
// reviewer did not push the head commit and gave it after the current plan
// was published.
func approvals(ctx context.Context, in Input, dir Directory) Item {
	item := Item{Kind: ItemApprovals, Name: "approvals"}
	p := in.Env.Policy
	want := p.Approvals
	if in.MinApprovals > want {
		// The server's floor: the repository cannot ask for fewer.
		want, item.Server = in.MinApprovals, true
	}
	if want <= 0 {
		item.Met, item.Reason = true, "no approvals required"
		return item
	}
	var counted, notes, failures []string
	pushed := pushers{in: in, dir: dir}
	for _, r := range standing(in.Reviews) {
		switch {
		case r.State == ReviewChangesRequested:
			notes = append(notes, r.User+" requested changes")
		case r.State != ReviewApproved, strings.EqualFold(r.User, in.Author):
			// Dismissed, or the author's own: the needs sentence already
			// says the author does not count.
		case r.CommitID != in.HeadSHA:
			notes = append(notes, r.User+" approved an older commit")
		default:
			why, err := pushed.excluded(ctx, r.User)
			if err == nil && why == "" {
				why = beforePlan(r.User, r.SubmittedAt, in.Plan, in.HeadSHA)
			}
			if err != nil {
				failures = appendOnce(failures, err.Error())
				continue
			}
			if why != "" {
				notes = append(notes, why)
				continue
			}
			ok, err := member(ctx, dir, p.Approvers, r.User)
			switch {
			case err != nil:
				failures = append(failures, fmt.Sprintf("could not check whether %s may approve: %v", r.User, err))
			case ok:
				counted = append(counted, r.User)
			case len(p.Approvers) == 0:
				notes = append(notes, r.User+" approved but has no write access")
			default:
				notes = append(notes, r.User+" approved but is not an approver")
			}
		}
	}
	head := short(in.HeadSHA)
	n := len(counted)
	var parts []string
	switch {
	case n > want:
		item.Met = true
		parts = append(parts, fmt.Sprintf("%d approvals at %s (%d required): %s", n, head, want, list(counted)))
	case n == want:
		// Failures cannot matter here: enough approvals are verified.
		item.Met = true
		parts = append(parts, fmt.Sprintf("%d of %d %s at %s: %s", n, want, plural(want, "approval", "approvals"), head, list(counted)))
	case n == 0:
		parts = append(parts, fmt.Sprintf("needs %d approving %s at %s from %s (the author does not count)",
			want, plural(want, "review", "reviews"), head, approverList(p.Approvers)))
	default:
		parts = append(parts, fmt.Sprintf("%d of %d approvals at %s: %s; needs %d more from %s (the author does not count)",
			n, want, head, list(counted), want-n, approverList(p.Approvers)))
	}
	if !item.Met {
		parts = append(parts, failures...)
		parts = append(parts, notes...)
	}
	if item.Server {
		parts = append(parts, fmt.Sprintf("the server config requires at least %d for this repository (its config asks %d)", want, p.Approvals))
	}
	item.Reason = strings.Join(parts, "; ")
	return item
}

// standing returns each reviewer's latest review that changes their
// standing, in the order reviewers first took one. Logins compare
// case-insensitively, as GitHub's do.
func standing(reviews []Review) []Review {
	var order []string
	latest := map[string]Review{}
	for _, r := range reviews {
		switch r.State {
		case ReviewApproved, ReviewChangesRequested, ReviewDismissed:
		default:
			continue
		}
		key := strings.ToLower(r.User)
		if _, ok := latest[key]; !ok {
			order = append(order, key)
		}
		latest[key] = r
	}
	out := make([]Review, len(order))
	for i, key := range order {
		out[i] = latest[key]
	}
	return out
}

// member reports whether user is named in who, by login or as a member of
// an org/team; an empty who means anyone with write access. Logins are
// checked before any team is looked up. A lookup error is returned only
// when no other entry admits the user.
func member(ctx context.Context, dir Directory, who []string, user string) (bool, error) {
	if len(who) == 0 {
		perm, err := dir.Permission(ctx, user)
		if err != nil {
			return false, fmt.Errorf("permission of %s: %w", user, err)
		}
		return writePermissions[perm], nil
	}
	for _, w := range who {
		if !strings.Contains(w, "/") && strings.EqualFold(w, user) {
			return true, nil
		}
	}
	var firstErr error
	for _, w := range who {
		org, team, ok := strings.Cut(w, "/")
		if !ok {
			continue
		}
		in, err := dir.TeamMember(ctx, org, team, user)
		switch {
		case err != nil && firstErr == nil:
			firstErr = fmt.Errorf("membership of %s in %s: %w", user, w, err)
		case in:
			return true, nil
		}
	}
	return false, firstErr
}

// approverList names who may approve, for "needs … from …".
func approverList(who []string) string {
	switch len(who) {
	case 0:
		return "someone with write access"
	case 1:
		return who[0]
	}
	return strings.Join(who[:len(who)-1], ", ") + " or " + who[len(who)-1]
}

// MayApply reports whether user may /apply env. Appliers work like
// approvers: listed logins and org/team members, or anyone with write
// access when none are listed. When the answer is no, the string says why,
// ready to reply with. An error means GitHub could not be asked; the
// caller must refuse and say so.
func MayApply(ctx context.Context, env *repoconfig.Environment, user string, dir Directory) (bool, string, error) {
	appliers := env.Policy.Appliers
	ok, err := member(ctx, dir, appliers, user)
	switch {
	case err != nil:
		return false, "", fmt.Errorf("check whether %s may apply %s: %w", user, env.Name, err)
	case ok:
		return true, "", nil
	case len(appliers) == 0:
		return false, fmt.Sprintf("@%s needs write access to this repository to apply %s", user, env.Name), nil
	}
	return false, fmt.Sprintf("@%s is not among the appliers of %s: %s", user, env.Name, strings.Join(appliers, ", ")), nil
}
