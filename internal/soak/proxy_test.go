package soak

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The front loses what it is told to lose (answering 502, forwarding
// nothing), sends a duplicated delivery to two replicas, and otherwise
// forwards each delivery to one ready replica.
func TestFrontLosesAndDuplicates(t *testing.T) {
	var hits [2]atomic.Int32
	f := newFront(1)
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/github/hook" || r.Header.Get("X-GitHub-Event") != "push" {
				t.Errorf("replica %d got %s with event %q", i, r.URL.Path, r.Header.Get("X-GitHub-Event"))
			}
			hits[i].Add(1)
		}))
		t.Cleanup(srv.Close)
		f.replicas = append(f.replicas, &replica{name: "r", addr: strings.TrimPrefix(srv.URL, "http://"), up: true})
	}
	front := httptest.NewServer(f)
	t.Cleanup(front.Close)
	deliver := func() int {
		req, _ := http.NewRequest(http.MethodPost, front.URL, strings.NewReader("{}"))
		req.Header.Set("X-GitHub-Event", "push")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	total := func() int32 { return hits[0].Load() + hits[1].Load() }

	if got := deliver(); got != http.StatusOK || total() != 1 {
		t.Fatalf("a plain delivery: status %d, %d replicas reached", got, total())
	}
	f.arm(1, 0)
	if got := deliver(); got != http.StatusBadGateway || total() != 1 {
		t.Fatalf("a lost delivery: status %d, %d deliveries reached replicas, want 502 and none more", got, total())
	}
	f.arm(0, 1)
	before := [2]int32{hits[0].Load(), hits[1].Load()}
	if got := deliver(); got != http.StatusOK || hits[0].Load() != before[0]+1 || hits[1].Load() != before[1]+1 {
		t.Fatalf("a duplicated delivery: status %d, hits %d,%d after %v, want one more on each", got, hits[0].Load(), hits[1].Load(), before)
	}
	f.replicas[0].up, f.replicas[1].up = false, false
	if got := deliver(); got != http.StatusServiceUnavailable {
		t.Fatalf("no replica ready: status %d, want 503", got)
	}
}
