package report

import "fmt"

// What slipway says about environment locks.

// Unlocked answers /unlock: the locks pull request number released (freed,
// sorted), those it named but did not hold, and who holds those (others,
// from HeldBy).
func Unlocked(number int, freed, notHeld []string, others string) string {
	var msg string
	if len(freed) == 0 {
		msg = fmt.Sprintf("#%d holds no environment locks to release.", number)
	} else {
		msg = "Released the lock on " + CodeList(freed) + "."
	}
	if len(notHeld) > 0 && len(freed) > 0 {
		msg += " Not held by this pull request: " + CodeList(notHeld) + "."
	}
	if others != "" {
		msg += " " + others
	}
	return msg
}

// HeldBy says that pull request holder holds env, and how the lock goes.
func HeldBy(env string, holder int) string {
	return fmt.Sprintf("`%s` is held by #%d: it is released when #%d merges or closes or someone comments `/unlock %s` there; a repository admin can release it from here with `/unlock %s --force`.",
		env, holder, holder, env, env)
}

// ForceUnlockRefused answers /unlock --force from someone who may not.
func ForceUnlockRefused(user, why string) string {
	return "@" + user + " `/unlock --force` refused, no lock was released: " + why +
		". Without `--force`, `/unlock` releases this pull request's own locks."
}

// NotLocked: /unlock --force named a free environment.
func NotLocked(env string) string { return fmt.Sprintf("`%s` is not locked.", env) }

// ReleasedOwn: the commenter's own pull request held env.
func ReleasedOwn(env string) string { return fmt.Sprintf("Released the lock on `%s`.", env) }

// ForceReleased says user force-released env's lock held by holder.
func ForceReleased(user, env string, holder int) string {
	return fmt.Sprintf("@%s force-released the `%s` lock held by #%d", user, env, holder)
}

// ForceReleasedHolder tells the holder that said (ForceReleased) happened
// from pull request from.
func ForceReleasedHolder(said string, from int, env string) string {
	return fmt.Sprintf("%s (from #%d). This pull request no longer holds `%s`, so another pull request may take it; this one takes it again on its next plan or `/apply` if it is free then.",
		said, from, env)
}

// LockTaken notes on a plan that the pull request took env's lock; when
// gated, the policy check fails on others meanwhile.
func LockTaken(env string, gated bool) string {
	note := fmt.Sprintf("🔒 This pull request now holds the `%s` lock until it merges or closes, or `/unlock %s`.", env, env)
	if gated {
		note += fmt.Sprintf(" Meanwhile `slipway/policy: %s` fails on other pull requests that change `%s`, so a branch protection rule requiring it keeps them from merging over this plan.", env, env)
	}
	return note
}

// LockedByOther notes on a plan that holder holds env; gated says whether
// the policy check fails meanwhile or only /apply is refused.
func LockedByOther(env string, holder int, gated bool) string {
	free := fmt.Sprintf("#%d merges or closes, or someone comments `/unlock %s` there (a repository admin can `/unlock %s --force` here)", holder, env, env)
	if gated {
		return fmt.Sprintf("🔒 `%s` is locked by #%d: this plan can be reviewed, but `slipway/policy: %s` fails until %s, and then passes on the next `/plan`, review or push.",
			env, holder, env, free)
	}
	return fmt.Sprintf("🔒 `%s` is locked by #%d: this plan can be reviewed, but `/apply %s` is refused until %s.", env, holder, env, free)
}

// ForkTakesNoLock notes on a fork's plan that it takes no lock.
func ForkTakesNoLock(env string) string {
	return fmt.Sprintf("This pull request comes from a fork, so it does not take the `%s` lock.", env)
}
