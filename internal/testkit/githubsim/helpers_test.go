package githubsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
)

const testSecret = "s3cret"

// testKey is shared because generating RSA keys dominates test time.
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// received is one webhook as a go-githubapp server would see it.
type received struct {
	Event    string
	Delivery string
	Payload  any // parsed by github.ParseWebHook
	Raw      []byte
}

// hookReceiver validates signatures like a real receiver and keeps what it
// parsed. status, if set, overrides the 200 it answers.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := github.ValidatePayload(r, []byte(testSecret))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ev, err := github.ParseWebHook(github.WebHookType(r), body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, received{Event: github.WebHookType(r), Delivery: github.DeliveryID(r), Payload: ev, Raw: body})
		status := h.status
		h.mu.Unlock()
		if status != 0 {
			http.Error(w, "told to fail", status)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// failWith makes the receiver answer status (0: 200 again).
func (h *hookReceiver) failWith(status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = status
}

func (h *hookReceiver) events() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.got...)
}

// last returns the newest received event of the given type.
func (h *hookReceiver) last(t *testing.T, event string) received {
	t.Helper()
	evs := h.events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Event == event {
			return evs[i]
		}
	}
	t.Fatalf("no %q webhook received; got %v", event, eventNames(evs))
	return received{}
}

func eventNames(evs []received) []string {
	var out []string
	for _, e := range evs {
		var a struct{ Action string }
		_ = json.Unmarshal(e.Raw, &a)
		out = append(out, strings.TrimSuffix(e.Event+"."+a.Action, "."))
	}
	return out
}

// fixture is a simulator with one installation ("acme") owning one
// repository, a webhook receiver, and a go-github client for the
// installation authenticated through ghinstallation.
type fixture struct {
	sim    *Sim
	hooks  *hookReceiver
	inst   int64
	repo   *Repo
	client *github.Client
	ctx    context.Context
}

const testRepo = "acme/deploy"

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	hooks := newHookReceiver(t)
	sim, err := New(Options{AppID: 42, PrivateKey: key, WebhookURL: hooks.srv.URL, WebhookSecret: testSecret, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst, err := sim.CreateInstallation("acme")
	if err != nil {
		t.Fatal(err)
	}
	if files == nil {
		files = map[string]string{"README.md": "# deploy\n", "apps/web/deployment.yaml": "replicas: 1\n"}
	}
	repo, err := sim.CreateRepo(inst, testRepo, files)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sim: sim, hooks: hooks, inst: inst, repo: repo, ctx: context.Background()}
	f.client = f.installationClient(t, inst)
	return f
}

func (f *fixture) installationClient(t *testing.T, inst int64) *github.Client {
	t.Helper()
	itr, err := ghinstallation.New(http.DefaultTransport, f.sim.AppID(), inst, f.sim.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = strings.TrimSuffix(f.sim.V3URL(), "/")
	c, err := github.NewClient(&http.Client{Transport: itr, Timeout: 30 * time.Second}).WithEnterpriseURLs(f.sim.V3URL(), f.sim.URL()+"/")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) appClient(t *testing.T) *github.Client {
	t.Helper()
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, f.sim.AppID(), f.sim.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	atr.BaseURL = strings.TrimSuffix(f.sim.V3URL(), "/")
	c, err := github.NewClient(&http.Client{Transport: atr}).WithEnterpriseURLs(f.sim.V3URL(), f.sim.URL()+"/")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// push commits on a branch and fails the test on error.
func (f *fixture) push(t *testing.T, branch string, files map[string]string) string {
	t.Helper()
	sha, err := f.sim.Push(testRepo, branch, files, "change "+branch, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// openPR pushes files to branch and opens a pull request into main.
func (f *fixture) openPR(t *testing.T, branch string, files map[string]string) int {
	t.Helper()
	f.push(t, branch, files)
	n, err := f.sim.OpenPR(testRepo, branch, "main", "Change "+branch, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// statusOf is the HTTP status of a go-github error, 0 if there is none.
func statusOf(err error) int {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return 0
	}
	return er.Response.StatusCode
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
