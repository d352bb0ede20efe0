// Package soak is slipway's chaos soak: several `slipway serve` replicas on
// Kubernetes Leases against one control plane (kwok nodes) and one
// githubsim, driven through a random mix of people's events while faults
// are injected (replica kills, lost, duplicated and replayed webhooks,
// GitHub 5xx, rate limits and slow answers, API server outages, Deployments
// that never become healthy). At the end the faults stop, the system
// settles, and named invariants are checked over GitHub's full record, the
// cluster and slipway's logs. A seed replays the same events and faults.
package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// Options configure Run.
type Options struct {
	Duration time.Duration // how long events and faults are driven
	Seed     uint64        // 0: a random one, printed
	Replicas int           // default 3
	Slipway  string        // the slipway binary (make build; -tags soakfault to show a check fails)
	Out      io.Writer
	// Keep keeps the working directory (logs, repositories) after the run.
	Keep bool

	secret string
}

// Result is what a soak saw.
type Result struct {
	Seed       uint64
	Invariants []Invariant
	Events     []kindCount
	Refused    []kindCount // events GitHub refused (a conflicting merge, a closed pull request)
	Faults     []kindCount
	// Exercised counts what the checks had to look at, so that a pass
	// over nothing shows as such.
	Exercised []kindCount
	Warnings  []string
	Dir       string // the working directory, if kept
}

// Violations counts every invariant's violations.
func (r *Result) Violations() int {
	n := 0
	for _, inv := range r.Invariants {
		n += len(inv.Violations)
	}
	return n
}

// settleTimeout bounds the wait for quiet after the faults stop.
const settleTimeout = 2 * time.Minute

// Run starts everything, drives events and faults for opts.Duration, lets
// the system settle, checks the invariants and stops everything.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Slipway == "" {
		return nil, errors.New("soak: Options.Slipway is required: the slipway binary to run")
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 3
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	opts.secret = "soak-secret-initial-" + githubsim.RandomHex(12)
	say := func(format string, args ...any) {
		fmt.Fprintf(opts.Out, "%s %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	say("soak: seed %d (SOAK_SEED=%d replays it), %s of events, %d replicas", opts.Seed, opts.Seed, opts.Duration, opts.Replicas)

	w, err := startWorld(ctx, opts, opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("soak: start: %w", err)
	}
	res := &Result{Seed: opts.Seed}
	defer func() {
		w.close()
		if opts.Keep {
			res.Dir = w.dir
		} else {
			_ = os.RemoveAll(w.dir)
		}
	}()
	say("soak: control plane, githubsim and %d replicas up; working directory %s", opts.Replicas, w.dir)

	j := newJournal()
	j.secret(opts.secret)
	quiet := func(string, ...any) {}
	if os.Getenv("SOAK_VERBOSE") != "" {
		quiet = say
	}
	d := newDriver(w, j, opts.Seed, quiet)
	c := newChaos(w, j, opts.Seed+1, quiet)
	runCtx, stop := context.WithTimeout(ctx, opts.Duration)
	defer stop()
	chaosDone := make(chan struct{})
	go func() { defer close(chaosDone); c.run(runCtx) }()
	d.tour(runCtx)
	say("soak: tour done, random events until the end")
	d.run(runCtx)
	<-chaosDone
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	say("soak: faults stopped; settling (resync %s + longest wait %s, then until quiet)", resyncInterval, healthWait)
	c.calm(ctx)
	w.sim.Flush()
	if err := w.settle(ctx); err != nil {
		say("soak: %v", err)
	}
	rec, err := w.collect(ctx, j)
	if err != nil {
		return nil, fmt.Errorf("soak: collect: %w", err)
	}
	res.Invariants = checks(rec)
	calls := 0
	for _, q := range w.sim.Requests() {
		if q.InstallationID != 0 {
			calls++
		}
	}
	res.Exercised = append(exercised(rec, len(w.sim.Deliveries())), kindCount{fmt.Sprintf("GitHub calls (quota %d/h)", githubQuota), calls})
	if calls >= githubQuota {
		res.Warnings = append(res.Warnings, fmt.Sprintf("slipway used up the installation's GitHub quota (%d calls): it stopped calling GitHub until the hour ends, which explains violations of 1 and 4", calls))
	}
	j.mu.Lock()
	res.Events, res.Refused, res.Faults = counts(j.events), counts(j.refused), counts(j.faults)
	j.mu.Unlock()
	res.Faults = append(res.Faults, kindCount{"unhealthy-deployment (commits)", d.ch.crashes})
	return res, nil
}

// settle waits one resync and the longest health wait, then until nothing
// slipway started is still running: no check run or Deployment in
// progress.
func (w *world) settle(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(resyncInterval + healthWait + 5*time.Second):
	}
	deadline := time.Now().Add(settleTimeout)
	for time.Now().Before(deadline) {
		if w.busy() == "" {
			// Quiet twice a resync apart: a pass that was about to start has.
			time.Sleep(resyncInterval + 2*time.Second)
			if w.busy() == "" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return fmt.Errorf("not quiet after %s: %s", settleTimeout, w.busy())
}

// busy names something slipway has in progress, or "".
func (w *world) busy() string {
	for _, cr := range w.sim.CheckRuns(shop) {
		if cr.GetApp().GetSlug() == w.sim.AppSlug() && cr.GetStatus() != "completed" {
			return fmt.Sprintf("check run %q on %s is %s", cr.GetName(), short(cr.GetHeadSHA()), cr.GetStatus())
		}
	}
	for _, d := range w.sim.Deployments(shop) {
		st := w.sim.DeploymentStatuses(shop, d.GetID())
		if len(st) == 0 || st[len(st)-1].GetState() == "in_progress" || st[len(st)-1].GetState() == "queued" {
			return fmt.Sprintf("Deployment %d of %s is in progress", d.GetID(), d.GetEnvironment())
		}
	}
	return ""
}

// Report writes the result as the soak prints it.
func (r *Result) Report(out io.Writer) {
	fmt.Fprintf(out, "\nsoak seed %d\n\nevents:\n", r.Seed)
	for _, c := range r.Events {
		fmt.Fprintf(out, "  %-32s %5d\n", c.Kind, c.Count)
	}
	if len(r.Refused) > 0 {
		fmt.Fprintf(out, "events GitHub refused (conflicts, closed pull requests):\n")
		for _, c := range r.Refused {
			fmt.Fprintf(out, "  %-32s %5d\n", c.Kind, c.Count)
		}
	}
	fmt.Fprintf(out, "faults:\n")
	for _, c := range r.Faults {
		fmt.Fprintf(out, "  %-32s %5d\n", c.Kind, c.Count)
	}
	fmt.Fprintf(out, "checked:\n")
	for _, c := range r.Exercised {
		fmt.Fprintf(out, "  %-32s %5d\n", c.Kind, c.Count)
	}
	fmt.Fprintf(out, "invariants (violations):\n")
	for _, inv := range r.Invariants {
		fmt.Fprintf(out, "  %d. %-5d %s\n", inv.N, len(inv.Violations), inv.Name)
		for i, v := range inv.Violations {
			if i == 5 {
				fmt.Fprintf(out, "        … and %d more\n", len(inv.Violations)-5)
				break
			}
			fmt.Fprintf(out, "        - %s\n", strings.TrimSpace(v))
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	if r.Dir != "" {
		fmt.Fprintf(out, "logs and repositories kept in %s\n", r.Dir)
	}
}

// exercised counts what the record holds for the checks to judge.
func exercised(r *record, deliveries int) []kindCount {
	m := map[string]int{"slipway check runs": len(r.runs), "webhook deliveries": deliveries}
	for _, d := range r.deps {
		m[fmt.Sprintf("Deployments %s %s", d.env, orNone(d.last().state))]++
		if d.applied() && r.fromReview(d) {
			m["applies from a review"]++
		}
	}
	for _, t := range r.texts {
		if strings.HasPrefix(t.where, "log ") {
			m["log lines read"]++
		} else {
			m["requests to GitHub read"]++
		}
	}
	return counts(m)
}

func orNone(s string) string {
	if s == "" {
		return "(no status)"
	}
	return s
}
