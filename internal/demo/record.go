package demo

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The story's epilogue: what GitHub now holds.

// order shows from the Deployment records that production started only
// after staging finished.
func (s *story) order(context.Context) error {
	s.t.Step("In order: staging, then production")
	recs := s.w.deployments()
	rows := [][]string{{"Deployment", "Environment", "Ref", "Created", "Finished", "State"}}
	for _, r := range recs {
		rows = append(rows, []string{strconv.FormatInt(r.d.GetID(), 10), r.d.GetEnvironment(), short(r.d.GetRef()) + " (" + s.refLabel(r.d.GetRef()) + ")",
			clock(r.d.GetCreatedAt().Time), clock(r.finished()), r.state()})
	}
	s.t.Table(rows, true)
	staging := slices.IndexFunc(recs, func(r record) bool { return r.d.GetEnvironment() == "staging" })
	prod := slices.IndexFunc(recs, func(r record) bool { return r.d.GetEnvironment() == "production" })
	if staging < 0 || prod < 0 {
		return fmt.Errorf("expected a staging and a production deployment, GitHub has %d records", len(recs))
	}
	st, pr := recs[staging], recs[prod]
	if created := pr.d.GetCreatedAt().Time; !created.Before(st.finished()) {
		s.t.Say("staging succeeded at %s (Deployment %d, applied from the pull request); production, which depends on it,\n"+
			"got its Deployment %d at the merge commit at %s, not before. (GitHub's timestamps are whole seconds.)",
			clock(st.finished()), st.d.GetID(), pr.d.GetID(), clock(created))
	} else {
		s.t.Say("⚠ production's Deployment was created at %s, before staging finished at %s.", clock(created), clock(st.finished()))
	}
	return nil
}

// history is the repository's deployment history, newest first, as the
// Environments tab lists it.
func (s *story) history(context.Context) error {
	s.t.Step("The repository's deployment history")
	recs := s.w.deployments()
	rows := [][]string{{"Environment", "Ref", "State", "Created"}}
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		rows = append(rows, []string{r.d.GetEnvironment(), short(r.d.GetRef()) + " (" + s.refLabel(r.d.GetRef()) + ")", r.state(), r.d.GetCreatedAt().Local().Format("2006-01-02 15:04:05")})
	}
	s.t.Table(rows)
	return nil
}

var (
	hexID    = regexp.MustCompile(`/[0-9a-f]{40}\b`)
	codeload = regexp.MustCompile(`^/_codeload/.*`)
	numID    = regexp.MustCompile(`/[0-9]+\b`)
)

// requests sums up every request githubsim answered: all of them slipway's.
func (s *story) requests(context.Context) error {
	s.t.Step("What slipway sent to GitHub")
	s.w.sim.Flush()
	counts := map[string]int{}
	total := 0
	for _, r := range s.w.sim.Requests() {
		path := codeload.ReplaceAllString(r.Path, "/_codeload/{token}/{tarball} (the archive download a tarball request redirects to)")
		path = numID.ReplaceAllString(hexID.ReplaceAllString(path, "/{sha}"), "/{id}")
		counts[r.Method+" "+path]++
		total++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		if a < b {
			return -1
		}
		return 1
	})
	rows := [][]string{{"Requests", "Endpoint"}}
	for _, k := range keys {
		rows = append(rows, []string{strconv.Itoa(counts[k]), k})
	}
	s.t.Say("githubsim answered %d requests from slipway and delivered %d webhooks to it. By endpoint:", total, len(s.w.sim.Deliveries()))
	s.t.Table(rows, true)
	return s.secretsKept()
}

// secretsKept checks every request slipway sent for the Secret's values,
// before and after the rotation, and says what it found (never the value).
func (s *story) secretsKept() error {
	original, err := secretValue(s.w.files[secretFile])
	if err != nil {
		return err
	}
	leaks := 0
	reqs := s.w.sim.Requests()
	for _, r := range reqs {
		for _, v := range []string{original, rotatedPassword} {
			if strings.Contains(string(r.Body), v) || strings.Contains(r.Path+"?"+r.Query, v) {
				leaks++
			}
		}
	}
	if leaks == 0 {
		s.t.Say("✓ None of the %d requests carried the Secret's password, old or new: slipway masks Secret values.", len(reqs))
	} else {
		s.t.Say("⚠ %d requests carried a value of the Secret db-credentials.", leaks)
	}
	return nil
}

// secretValue is the password of the sample repository's Secret.
func secretValue(manifest string) (string, error) {
	var secret struct {
		StringData map[string]string `yaml:"stringData"`
	}
	if err := yaml.Unmarshal([]byte(manifest), &secret); err != nil {
		return "", fmt.Errorf("read %s: %w", secretFile, err)
	}
	v := secret.StringData["password"]
	if v == "" {
		return "", fmt.Errorf("%s has no stringData.password", secretFile)
	}
	return v, nil
}
