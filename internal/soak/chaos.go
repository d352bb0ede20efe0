package soak

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/slipwayhq/slipway/internal/testkit/githubsim"
)

// chaos injects faults until ctx ends, on its own random stream so that
// the events' stream does not depend on it.
type chaos struct {
	w   *world
	j   *journal
	rng *rand.Rand
	log func(string, ...any)
	// restarts are replicas killed and not yet started again.
	restarts chan *replica
}

func newChaos(w *world, j *journal, seed uint64, log func(string, ...any)) *chaos {
	return &chaos{w: w, j: j, rng: rand.New(rand.NewPCG(seed, 0xc4a05)), log: log, restarts: make(chan *replica, 16)}
}

// Paths GitHub faults hit: slipway's writes and the reads it decides by.
var faultPaths = []string{
	`/check-runs`, `/deployments`, `/statuses$`, `/comments`, `/pulls/\d+$`, `/reviews$`, `/tarball/`, `/compare/`, `/contents/`, `/access_tokens$`,
}

func (c *chaos) run(ctx context.Context) {
	type fault struct {
		kind   string
		weight int
		do     func(context.Context)
	}
	faults := []fault{
		{"replica-kill", 2, c.kill},
		{"delivery-lost", 3, func(context.Context) { c.w.front.arm(1+c.rng.IntN(2), 0) }},
		{"delivery-duplicated", 3, func(context.Context) { c.w.front.arm(0, 1+c.rng.IntN(2)) }},
		{"old-delivery-redelivered", 2, c.redeliver},
		{"github-5xx", 3, func(context.Context) {
			c.inject(githubsim.ServerError(c.method(), c.path(), []int{500, 502, 503}[c.rng.IntN(3)]), 1+c.rng.IntN(3))
		}},
		{"github-5xx-after-effect", 1, func(context.Context) {
			c.inject(githubsim.LostAnswer("POST", c.path(), 502), 1)
		}},
		{"github-secondary-rate-limit", 2, func(context.Context) {
			c.inject(githubsim.SecondaryRateLimit(c.method(), c.path(), time.Duration(1+c.rng.IntN(3))*time.Second), 1)
		}},
		{"github-slow", 2, func(context.Context) {
			c.inject(githubsim.Slow(c.method(), c.path(), time.Duration(2+c.rng.IntN(4))*time.Second), 1+c.rng.IntN(2))
		}},
		{"api-server-outage", 1, func(context.Context) {
			d := time.Duration(2+c.rng.IntN(5)) * time.Second
			c.j.outage(d)
			c.w.gate.outage(d)
		}},
	}
	total := 0
	for _, f := range faults {
		total += f.weight
	}
	for {
		pause := time.Duration(2000+c.rng.IntN(4000)) * time.Millisecond
		select {
		case <-ctx.Done():
			return
		case r := <-c.restarts:
			c.restart(ctx, r)
			continue
		case <-time.After(pause):
		}
		n := c.rng.IntN(total)
		for _, f := range faults {
			if n -= f.weight; n < 0 {
				f.do(ctx)
				c.j.fault(f.kind)
				break
			}
		}
	}
}

func (c *chaos) method() string {
	if c.rng.IntN(3) == 0 {
		return "GET"
	}
	return "" // any
}

func (c *chaos) path() string { return faultPaths[c.rng.IntN(len(faultPaths))] }

func (c *chaos) inject(f githubsim.Fault, times int) {
	f.Times = times
	if err := c.w.sim.InjectFault(f); err != nil {
		c.log("inject fault: %v", err)
	}
}

// kill SIGKILLs a live replica, never the last one, and has it started
// again a few seconds later.
func (c *chaos) kill(ctx context.Context) {
	var live []*replica
	for _, r := range c.w.replicas {
		if r.alive() {
			live = append(live, r)
		}
	}
	if len(live) < 2 {
		return
	}
	r := live[c.rng.IntN(len(live))]
	c.j.killed()
	r.kill()
	after := time.Duration(2+c.rng.IntN(6)) * time.Second
	time.AfterFunc(after, func() { c.restarts <- r })
}

func (c *chaos) restart(ctx context.Context, r *replica) {
	if err := r.start(ctx); err != nil && ctx.Err() == nil {
		c.log("restart %s: %v", r.name, err)
	}
}

// redeliver sends an old delivery again, as GitHub's Redeliver button does.
func (c *chaos) redeliver(context.Context) {
	ds := c.w.sim.Deliveries()
	if len(ds) == 0 {
		return
	}
	d := ds[c.rng.IntN(len(ds))]
	if _, err := c.w.sim.Redeliver(d.ID); err != nil {
		c.log("redeliver: %v", err)
	}
}

// calm ends every fault: replicas up, faults disarmed, the API server back.
func (c *chaos) calm(ctx context.Context) {
	c.w.sim.ClearFaults()
	c.w.front.disarm()
	c.w.gate.end()
	for _, r := range c.w.replicas {
		if !r.alive() {
			c.restart(ctx, r)
		}
	}
}
