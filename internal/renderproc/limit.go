package renderproc

import (
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The limits' keys in the server config, which messages name so that the
// reader knows what to ask for.
const (
	KeyTimeout    = "render.timeout"
	KeyMaxMemory  = "render.max_memory"
	KeyMaxObjects = "render.max_objects"
	KeyMaxOutput  = "render.max_output"
)

// LimitError is a render stopped because it went past one of its limits.
type LimitError struct {
	Env     string
	Limit   string // one of the Key constants
	Allowed string // the limit as configured: 60s, 512Mi, 5000
	Objects int    // for render.max_objects: how many the render produced
}

func (e *LimitError) Error() string {
	prefix := "render of " + e.Env + " stopped: "
	switch e.Limit {
	case KeyTimeout:
		return prefix + fmt.Sprintf("it ran past %s (%s); look for a template loop that does not end, or ask whoever runs slipway to raise the limit", e.Limit, e.Allowed)
	case KeyMaxMemory:
		return prefix + fmt.Sprintf("it used more than %s (%s); look for a template that builds ever larger values, or ask whoever runs slipway to raise the limit", e.Limit, e.Allowed)
	case KeyMaxObjects:
		return prefix + fmt.Sprintf("it produced %s objects, more than %s (%s); split the environment, or ask whoever runs slipway to raise the limit", thousands(e.Objects), e.Limit, e.Allowed)
	default:
		return prefix + fmt.Sprintf("its output was larger than %s (%s); split the environment, or ask whoever runs slipway to raise the limit", e.Limit, e.Allowed)
	}
}

// formatDuration writes whole seconds as the config does ("60s", not
// "1m0s").
func formatDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// formatBytes writes a size as Kubernetes quantities are written: 512Mi.
func formatBytes(n int64) string {
	return resource.NewQuantity(n, resource.BinarySI).String()
}

// thousands writes n with thousands separators: 50,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
