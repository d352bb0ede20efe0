package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/rs/zerolog"
	"k8s.io/klog/v2"
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
			tc.log(Logr(zerolog.New(&buf).Level(tc.level)))
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
	Logr(zerolog.New(&buf).Level(zerolog.InfoLevel)).V(4).Info("Lease is held and has not yet expired")
	if buf.Len() != 0 {
		t.Errorf("V(4) logged at info level: %s", buf.String())
	}
}

// What client-go logs through klog comes out as JSON lines with the
// component field, and nothing reaches stderr as plain text.
func TestRouteKlog(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	var buf bytes.Buffer
	log := zerolog.New(&buf).Level(zerolog.InfoLevel)
	RouteKlog(log)
	t.Cleanup(func() { klog.ClearLogger() })
	klog.Info("Waited for 1.2s due to client-side throttling")
	klog.Warningf("watch of %s ended with: %s", "*v1.Lease", "too old resource version")
	klog.ErrorS(errors.New("connection refused"), "Failed to update lease", "lease", "slipway/slipway-leader")
	klog.V(4).Info("a detail below the verbosity")
	klog.Flush()
	os.Stderr = stderr
	w.Close()
	plain, _ := io.ReadAll(r)
	if len(plain) > 0 {
		t.Errorf("stderr got %q", plain)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("logged %d lines, want 3:\n%s", len(lines), buf.String())
	}
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("not JSON: %s", line)
			continue
		}
		if m["component"] != "client-go" {
			t.Errorf("no component client-go: %s", line)
		}
	}
	for _, want := range []string{`"message":"Waited for 1.2s due to client-side throttling"`, `too old resource version`,
		`"level":"error"`, `"error":"connection refused"`, `"lease":"slipway/slipway-leader"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, buf.String())
		}
	}
}
