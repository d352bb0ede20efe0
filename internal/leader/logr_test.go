package leader

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/rs/zerolog"
)

func TestLogrToZerolog(t *testing.T) {
	cases := []struct {
		name  string
		level zerolog.Level
		log   func(l logr.Logger)
		want  []string // substrings of the output; none means no output
	}{
		{"info with fields", zerolog.InfoLevel, func(l logr.Logger) {
			l.Info("Successfully acquired lease", "lock", "ns/slipway-leader")
		}, []string{`"level":"info"`, `"lock":"ns/slipway-leader"`, `"message":"Successfully acquired lease"`}},
		{"error", zerolog.InfoLevel, func(l logr.Logger) {
			l.Error(errors.New("connection refused"), "Failed to update lease")
		}, []string{`"level":"error"`, `"error":"connection refused"`}},
		{"errors only", zerolog.ErrorLevel, func(l logr.Logger) {
			l.Info("Attempting to acquire leader lease...")
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(newLogr(zerolog.New(&buf).Level(tc.level)))
			out := buf.String()
			if len(tc.want) == 0 && out != "" {
				t.Errorf("logged %s, want nothing", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("logged %s, want it to contain %s", out, w)
				}
			}
		})
	}
	var buf bytes.Buffer
	newLogr(zerolog.New(&buf).Level(zerolog.InfoLevel)).V(4).Info("Lease is held and has not yet expired")
	if buf.Len() != 0 {
		t.Errorf("V(4) logged at info level: %s", buf.String())
	}
}
