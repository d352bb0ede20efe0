// Command slipway-soak runs the chaos soak (internal/soak): `make soak`.
// SOAK_DURATION (default 10m) and SOAK_SEED choose the run; SOAK_FAULT
// names a soakfault fault to build into slipway, to see its check fail.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/soak"
	"github.com/slipwayhq/slipway/internal/soakfault"
)

func main() {
	opts := soak.Options{Duration: 10 * time.Minute, Out: os.Stdout}
	flag.StringVar(&opts.Slipway, "slipway", "", "the slipway binary to run; empty: build ./cmd/slipway into a temp dir (with -tags soakfault when SOAK_FAULT is set)")
	flag.IntVar(&opts.Replicas, "replicas", 3, "slipway serve replicas")
	flag.BoolVar(&opts.Keep, "keep", false, "keep the working directory (logs, repositories)")
	flag.Parse()
	if err := fromEnv(&opts); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if opts.Slipway == "" {
		bin, clean, err := build(ctx, os.Getenv("SOAK_FAULT"))
		if err != nil {
			fail(err)
		}
		defer clean()
		opts.Slipway = bin
	}
	res, err := soak.Run(ctx, opts)
	if err != nil {
		fail(err)
	}
	res.Report(os.Stdout)
	if n := res.Violations(); n > 0 {
		fmt.Printf("\nFAIL: %d violations; replay with SOAK_SEED=%d\n", n, res.Seed)
		os.Exit(1)
	}
	fmt.Println("\nPASS: no invariant violated")
}

func fromEnv(opts *soak.Options) error {
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("SOAK_DURATION=%q: want a duration such as 1m or 10m", v)
		}
		opts.Duration = d
	}
	if v := os.Getenv("SOAK_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("SOAK_SEED=%q: want the number a soak printed", v)
		}
		opts.Seed = s
	}
	if f := os.Getenv("SOAK_FAULT"); f != "" && !known(f) {
		return fmt.Errorf("SOAK_FAULT=%q: want one of %v", f, soakfault.All)
	}
	return nil
}

func known(f string) bool {
	for _, k := range soakfault.All {
		if k == f {
			return true
		}
	}
	return false
}

// build compiles slipway once into a temp dir; a fault needs the
// soakfault tag, which no other build uses.
func build(ctx context.Context, fault string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "slipway-soak-bin-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "slipway")
	args := []string{"build", "-trimpath", "-o", bin}
	if fault != "" {
		args = append(args, "-tags", "soakfault")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/slipway")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build slipway (run from the repository root): %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "slipway-soak:", err)
	os.Exit(2)
}
