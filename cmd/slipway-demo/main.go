// Command slipway-demo shows slipway working end to end on this machine,
// with no network and no GitHub account: `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/demo"
)

func main() {
	var opts demo.Options
	flag.StringVar(&opts.Slipway, "slipway", "bin/slipway", "the slipway binary to run (make build)")
	flag.StringVar(&opts.HTML, "html", filepath.Join(os.TempDir(), "slipway-demo.html"), "also write the transcript as a web page here (empty: none)")
	flag.DurationVar(&opts.Pace, "pace", 1500*time.Millisecond, "pause between chapters, to read along")
	flag.Parse()
	opts.Out = os.Stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "slipway-demo:", err)
		if ctx.Err() != nil {
			os.Exit(130) // interrupted, as a shell reports it
		}
		os.Exit(1)
	}
}
