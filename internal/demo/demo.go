// Package demo plays slipway's whole product on one machine, offline: a
// real Kubernetes control plane, a GitHub simulator holding the sample
// repository, and `slipway serve` between them, through one pull request
// from plan to production, told as a transcript.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// Options configure Run.
type Options struct {
	// Out receives the transcript as it happens. Nil discards it.
	Out io.Writer
	// Pace is a pause before each chapter, for a human to keep up; tests
	// use 0.
	Pace time.Duration
	// HTML is where the transcript is also written as a self-contained
	// page; empty writes none.
	HTML string
	// Slipway is the slipway binary the demo runs as the server and CLI
	// (`make build` writes bin/slipway).
	Slipway string
}

// Run starts everything, plays the story and stops everything again, also
// when ctx is cancelled.
func Run(ctx context.Context, opts Options) (err error) {
	if opts.Slipway == "" {
		return errors.New("demo: Options.Slipway is required: the slipway binary (make build)")
	}
	binary, err := filepath.Abs(opts.Slipway)
	if err != nil {
		return err
	}
	t := newTranscript(ctx, opts.Out, opts.Pace)
	t.Title("slipway demo: GitOps for Kubernetes through pull requests, all on this machine")
	t.Say("Every comment, check run and Deployment below is read back from the GitHub simulator: what slipway sent it.\n" +
		"Comments are shown as GitHub renders them; here collapsed sections are expanded.")
	t.Step("Starting a cluster, GitHub and slipway")
	began := time.Now()
	w, err := startWorld(ctx, t, binary)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted while starting: %w", ctx.Err())
		}
		return err
	}
	defer func() {
		t.Progress("… stopping slipway, githubsim and the cluster")
		w.close()
		t.Progress("✓ everything stopped (%s in all)", since(began))
	}()

	s := &story{w: w, t: t}
	if err := s.play(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return err
	}
	if opts.HTML != "" {
		path, err := filepath.Abs(opts.HTML)
		if err != nil {
			return err
		}
		if err := t.writeHTML(path); err != nil {
			return fmt.Errorf("write the HTML transcript: %w", err)
		}
		t.Say("\nThe transcript as a web page, comments rendered as on GitHub: %s", path)
	}
	return t.err
}
