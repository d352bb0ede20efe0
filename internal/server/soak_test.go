package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestManyPullRequestsConcurrently(t *testing.T) {
	w := newWorld(t, 8)
	w.patience = 5 * time.Minute // the whole backlog may be ahead of the first pull request
	start := time.Now()
	const prs, pushes = 50, 3
	value := func(i, p int) string { return fmt.Sprintf("pr%d-push%d", i, p) }
	files := func(i, p int) map[string]string {
		return map[string]string{"deploy/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: staging-only\ndata:\n  n: " + value(i, p) + "\n"}
	}
	numbers := make([]int, prs)
	var wg sync.WaitGroup
	for i := range prs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			branch := fmt.Sprintf("soak-%d", i)
			numbers[i] = w.openPR(branch, "alice", files(i, 0))
			for p := 1; p < pushes; p++ {
				if _, err := w.sim.Push(w.repo, branch, files(i, p), "push", "alice"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()

	for i, n := range numbers {
		head := w.head(n)
		w.completed(head, "slipway/plan: staging")
		w.eventually(fmt.Sprintf("#%d's comment for its last push", n), func() bool {
			c := w.stickyComments(n)
			return len(c) == 1 && strings.Contains(c[0].GetBody(), head[:7])
		})
		body := w.stickyComments(n)[0].GetBody()
		if !strings.Contains(body, value(i, pushes-1)) {
			t.Errorf("#%d's comment does not show its own last change %s", n, value(i, pushes-1))
		}
		for j := range prs {
			if j != i && strings.Contains(body, value(j, pushes-1)+"\n") {
				t.Errorf("#%d's comment shows #%d's change", n, numbers[j])
			}
		}
		if runs := w.checkRuns(head, "slipway/plan: staging"); len(runs) != 1 {
			t.Errorf("#%d head has %d staging check runs, want 1", n, len(runs))
		}
	}
	t.Logf("50 pull requests × 3 pushes settled in %s", time.Since(start).Round(time.Second))
	for _, cr := range w.sim.CheckRuns(w.repo) {
		if cr.GetStatus() != "completed" {
			t.Errorf("check run %s on %s left %s", cr.GetName(), cr.GetHeadSHA()[:7], cr.GetStatus())
		}
	}
}
