//go:build !linux

package renderproc

import (
	"errors"
	"os"
	"os/exec"
)

// Outside Linux (the CLI on a laptop) the child is killed alone, without a
// process group, and its memory is bounded only by debug.SetMemoryLimit,
// which is soft: there is no /proc to watch it by.

func executable() (string, error) { return os.Executable() }

func isolate(*exec.Cmd) {}

func killGroup(int) {}

func waitExited(int) {}

func watchRSS(int, int64, func()) func() { return func() {} }

func capMemory(int64) error { return errors.New("not supported on this system") }
