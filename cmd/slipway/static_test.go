package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dockerStage is one FROM … of a Dockerfile with its instructions, each
// with continuation lines joined.
type dockerStage struct {
	from, name string
	instrs     []string
}

func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		stages []dockerStage
		cur    strings.Builder
	)
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			s := dockerStage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				s.name = f[3]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %q before the first FROM", path, line)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, line)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return stages
}

// The image's final stage is distroless/static, which has no C library: it
// runs only a static binary. The Dockerfile builds the binary with `make
// static`; this test runs that target (with cgo switched on in the
// environment, as it is in the golang image) and checks that the result
// has no program interpreter and links no shared library.
func TestStaticBuild(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want build and final", len(stages))
	}
	build, final := stages[0], stages[1]

	// The build stage uses the Go release go.mod asks for.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVersion == nil || build.from != "golang:"+string(goVersion[1]) {
		t.Errorf("build stage FROM %s, want golang:%s as go.mod says", build.from, goVersion[1])
	}
	if final.from != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static-debian12:nonroot", final.from)
	}

	// The build stage's binary is `make static BIN=…`, and that file is
	// what the final stage runs.
	var built string
	for _, in := range build.instrs {
		if m := regexp.MustCompile(`^RUN make static BIN=(\S+)`).FindStringSubmatch(in); m != nil {
			built = m[1]
		}
	}
	if built == "" {
		t.Fatalf("the build stage does not RUN make static BIN=…: %q", build.instrs)
	}
	var copied, entry bool
	for _, in := range final.instrs {
		copied = copied || in == "COPY --from="+build.name+" "+built+" /slipway"
		entry = entry || in == `ENTRYPOINT ["/slipway"]`
	}
	if !copied || !entry {
		t.Errorf("the final stage does not copy %s from stage %q to /slipway and run it: %q", built, build.name, final.instrs)
	}

	bin := filepath.Join(t.TempDir(), "slipway")
	cmd := exec.Command("make", "-s", "static", "BIN="+bin, "VERSION=v0.0.0-static-test", "COMMIT=abc1234")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make static: %v\n%s", err, out)
	}
	t.Logf("make static took %s", time.Since(start).Round(time.Second))

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			t.Error("the binary names a program interpreter (dynamic loader): it would not start on distroless/static")
		case elf.PT_DYNAMIC:
			t.Error("the binary has a dynamic section: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary links shared libraries %v (%v)", libs, err)
	}

	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "slipway v0.0.0-static-test (abc1234)" {
		t.Errorf("version printed %q: the ldflags did not reach the binary", got)
	}
}
