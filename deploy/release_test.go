package deploy

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The image a release publishes is the one the manifests run, at the
// version they pin, and the release image runs like the one built from
// source: a rename or a version bump in one place alone fails here.
func TestReleasePublishesTheImageTheManifestsRun(t *testing.T) {
	var gr struct {
		Dockers []struct {
			Dockerfile string
			Images     []string
		} `yaml:"dockers_v2"`
	}
	readYAML(t, "../.goreleaser.yaml", &gr)
	if len(gr.Dockers) != 1 || len(gr.Dockers[0].Images) != 1 {
		t.Fatalf(".goreleaser.yaml publishes %+v, want one image", gr.Dockers)
	}
	image := gr.Dockers[0].Images[0]

	var kust struct {
		Images []struct {
			Name   string `yaml:"name"`
			NewTag string `yaml:"newTag"`
		} `yaml:"images"`
	}
	readYAML(t, "kustomization.yaml", &kust)
	var chart struct {
		AppVersion string `yaml:"appVersion"`
	}
	readYAML(t, "chart/Chart.yaml", &chart)
	var values struct {
		Image struct{ Repository, Tag string }
	}
	readYAML(t, "chart/values.yaml", &values)
	if len(kust.Images) != 1 || kust.Images[0].Name != image {
		t.Errorf("deploy/kustomization.yaml sets %+v, want the released image %s", kust.Images, image)
	} else if kust.Images[0].NewTag != chart.AppVersion {
		t.Errorf("deploy/ runs %s, the chart's appVersion is %s", kust.Images[0].NewTag, chart.AppVersion)
	}
	if values.Image.Repository != image || values.Image.Tag != "" {
		t.Errorf("the chart runs %s:%s, want %s at its appVersion", values.Image.Repository, values.Image.Tag, image)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), image+":"+chart.AppVersion) {
		t.Errorf("the README does not name the published image %s:%s", image, chart.AppVersion)
	}

	fromSource := runtimeStage(t, "../Dockerfile")
	released := runtimeStage(t, "../"+gr.Dockers[0].Dockerfile)
	for _, key := range []string{"FROM", "USER", "ENTRYPOINT", "CMD"} {
		if fromSource[key] != released[key] || fromSource[key] == "" {
			t.Errorf("%s: the Dockerfile has %q, %s has %q", key, fromSource[key], gr.Dockers[0].Dockerfile, released[key])
		}
	}
}

// runtimeStage is the last stage of a Dockerfile: its base and how it runs.
func runtimeStage(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stage := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch word {
		case "FROM":
			stage = map[string]string{"FROM": strings.Fields(rest)[0]}
		case "USER", "ENTRYPOINT", "CMD":
			stage[word] = rest
		}
	}
	return stage
}
