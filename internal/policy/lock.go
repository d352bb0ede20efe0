package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/repoconfig"
)

// LockState is who holds the environment's lock, as the lock store said
// when the policy was weighed; the caller reads the store.
type LockState struct {
	// Holder is the pull request holding the lock; 0 when nobody does.
	Holder int
	// Mine is true when Holder is the pull request being weighed.
	Mine bool
	// Err is set when the store could not be read: never a pass.
	Err error
}

// lockItem checks that no other pull request holds an on-merge
// environment's lock. Such an environment deploys when the pull request
// merges, so merging while another pull request's plan of it is in review
// (it holds the lock) would deploy over that plan; the failing check is
// what lets branch protection stop the merge. A before-merge environment
// needs no such item: /apply itself refuses while another pull request
// holds the lock.
func lockItem(in Input) (Item, bool) {
	if in.Env.Mode != repoconfig.ModeOnMerge {
		return Item{}, false
	}
	env := in.Env.Name
	item := Item{Kind: ItemLock, Name: "lock"}
	switch l := in.Lock; {
	case l.Err != nil:
		item.Reason = fmt.Sprintf("the %s lock could not be read (%v): comment /plan to check again", env, l.Err)
	case l.Holder == 0:
		item.Met, item.Reason = true, fmt.Sprintf("no other pull request holds the %s lock", env)
	case l.Mine:
		item.Met, item.Reason = true, fmt.Sprintf("this pull request holds the %s lock", env)
	default:
		item.Headline = fmt.Sprintf("%s is locked by #%d", env, l.Holder)
		item.Reason = fmt.Sprintf("%s is locked by #%d, whose plan of %s is in review; merging this pull request would deploy over it. "+
			"This passes once #%d merges or closes, or someone with write access comments /unlock %s on #%d (or an admin comments /unlock %s --force), and this check runs again (/plan, a review or a push)",
			env, l.Holder, env, l.Holder, env, l.Holder, env)
	}
	return item, true
}

// MayForceUnlock reports whether user may release another pull request's
// environment lock (/unlock ENV --force): an admin of the repository, or
// someone the server config lists in unlockers (logins and org/team). When
// the answer is no, the string says who may, ready to reply with; an error
// means GitHub could not be asked and the caller must refuse and say so.
func MayForceUnlock(ctx context.Context, user string, unlockers []string, dir Directory) (bool, string, error) {
	perm, err := dir.Permission(ctx, user)
	if err != nil {
		return false, "", fmt.Errorf("permission of %s: %w", user, err)
	}
	if perm == "admin" {
		return true, "", nil
	}
	var teamErr error
	if len(unlockers) > 0 {
		ok, err := member(ctx, dir, unlockers, user)
		if ok {
			return true, "", nil
		}
		teamErr = err
	}
	if teamErr != nil {
		return false, "", fmt.Errorf("check whether %s may force an unlock: %w", user, teamErr)
	}
	who := "admins of this repository"
	if len(unlockers) > 0 {
		who += " and the server's unlockers (" + strings.Join(unlockers, ", ") + ")"
	}
	return false, fmt.Sprintf("only %s may release another pull request's lock; @%s has %s permission", who, user, perm), nil
}
