package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/backoff"
)

const testSecret = "0123456789abcdef0123456789abcdef"

var deployed = Message{
	Event: EventDeploy, Outcome: "success", Repository: "acme/shop", Environment: "staging",
	Commit: "0123456789abcdef", PullRequest: 7, Summary: "2 created, 1 configured",
	Text: "✅ slipway: deploy of acme/shop to staging at 0123456 succeeded (2 created, 1 configured)",
	Links: Links{PullRequest: "https://github.com/acme/shop/pull/7", Deployments: "https://github.com/acme/shop/deployments/staging",
		Check: "https://github.com/acme/shop/runs/9", Commit: "https://github.com/acme/shop/commit/0123456789abcdef"},
}

// received is what a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

func receiver(t *testing.T, status func(n int) int) (*httptest.Server, chan received) {
	t.Helper()
	got := make(chan received, 10)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Clone(), body}
		w.WriteHeader(status(int(n.Add(1))))
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func ok(int) int { return http.StatusOK }

func next(t *testing.T, got chan received) received {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got nothing")
		return received{}
	}
}

// A generic webhook gets the message as JSON, signed with its secret the
// way its receiver checks it.
func TestWebhookIsSignedJSON(t *testing.T) {
	srv, got := receiver(t, ok)
	counts := counter{}
	n := New([]Receiver{{Name: "notify[0]", Kind: KindWebhook, URL: srv.URL, Secret: testSecret}}, zerolog.Nop(), Options{Count: counts.add})
	n.Send(deployed)
	r := next(t, got)
	if !Verify([]byte(testSecret), r.body, r.header.Get(SignatureHeader)) {
		t.Errorf("signature %q does not verify", r.header.Get(SignatureHeader))
	}
	if Verify([]byte("another secret of the same length, or not"), r.body, r.header.Get(SignatureHeader)) {
		t.Error("the signature verifies under another secret")
	}
	var m Message
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || r.header.Get(DeliveryHeader) != m.ID || r.header.Get(EventHeader) != EventDeploy || m.Time.IsZero() {
		t.Errorf("id %q, delivery %q, event %q, time %v", m.ID, r.header.Get(DeliveryHeader), r.header.Get(EventHeader), m.Time)
	}
	m.ID, m.Time = "", time.Time{}
	if m != deployed {
		t.Errorf("got %+v, want %+v", m, deployed)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Work that outlives the shutdown may still report: dropped, counted.
	n.Send(deployed)
	if counts.get(KindWebhook, ResultSent) != 1 || counts.get(KindWebhook, ResultDropped) != 1 {
		t.Errorf("counts %v, want one sent and one dropped after Close", counts.m)
	}
}

// Slack gets one line with links in its <url|label> form, and nothing a
// repository names can inject Slack markup.
func TestSlackMessage(t *testing.T) {
	srv, got := receiver(t, ok)
	n := New([]Receiver{{Name: "notify[0]", Kind: KindSlack, URL: srv.URL}}, zerolog.Nop(), Options{})
	defer n.Close(context.Background())
	m := deployed
	m.Text = strings.Replace(m.Text, "staging", "<!channel>", 1)
	n.Send(m)
	r := next(t, got)
	if r.header.Get(SignatureHeader) != "" {
		t.Error("Slack got a signature header it has no secret for")
	}
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"✅ slipway: deploy of acme/shop to &lt;!channel&gt; at 0123456 succeeded (2 created, 1 configured)",
		"<https://github.com/acme/shop/pull/7|#7>", "<https://github.com/acme/shop/deployments/staging|deployments>", "<https://github.com/acme/shop/runs/9|details>"} {
		if !strings.Contains(body["text"], want) {
			t.Errorf("text %q does not contain %q", body["text"], want)
		}
	}
	if strings.Contains(body["text"], "<!channel>") {
		t.Error("a name reached Slack as markup")
	}
}

// A receiver that is down or hangs never holds up Send: messages beyond
// its queue are dropped and counted, and Close gives up when told to.
func TestDownReceiverNeverBlocks(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	counts := counter{}
	n := New([]Receiver{{Name: "notify[0]", Kind: KindWebhook, URL: srv.URL, Secret: testSecret}}, zerolog.Nop(),
		Options{Queue: 2, Timeout: time.Minute, Count: counts.add})
	start := time.Now()
	for range 10 {
		n.Send(deployed)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Send took %s with a hanging receiver", took)
	}
	// One in flight, two queued: the other seven are dropped.
	if d := counts.get(KindWebhook, ResultDropped); d < 7 {
		t.Errorf("%d dropped, want at least 7", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := n.Close(ctx); err == nil {
		t.Error("Close said everything was sent")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %s past its deadline", took)
	}
}

// A 5xx is tried again; a 4xx is not; a redirect is not followed.
func TestRetriesAndRedirects(t *testing.T) {
	srv, got := receiver(t, func(n int) int {
		if n == 1 {
			return http.StatusBadGateway
		}
		return http.StatusNoContent
	})
	elsewhere, stray := receiver(t, ok)
	redirect := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	gone, _ := receiver(t, func(int) int { return http.StatusGone })
	counts := counter{}
	n := New([]Receiver{
		{Name: "flaky", Kind: KindWebhook, URL: srv.URL, Secret: testSecret},
		{Name: "redirect", Kind: KindSlack, URL: redirect.URL},
		{Name: "gone", Kind: KindSlack, URL: gone.URL, Events: []string{EventDeploy}},
		{Name: "drift only", Kind: KindSlack, URL: gone.URL, Events: []string{EventDrift}},
	}, zerolog.Nop(), Options{Backoff: backoff.Policy{Base: time.Millisecond, Max: time.Millisecond}, Count: counts.add})
	n.Send(deployed)
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	first, second := next(t, got), next(t, got)
	if string(first.body) != string(second.body) || first.header.Get(DeliveryHeader) != second.header.Get(DeliveryHeader) {
		t.Error("the retry is not the same delivery")
	}
	select {
	case <-stray:
		t.Error("a redirect was followed")
	default:
	}
	if s, f := counts.get(KindWebhook, ResultSent), counts.get(KindSlack, ResultFailed); s != 1 || f != 2 {
		t.Errorf("webhook sent %d, slack failed %d; want 1 and 2 (redirect, gone; drift only not asked)", s, f)
	}
}

type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) add(kind, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[kind+" "+result]++
}

func (c *counter) get(kind, result string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[kind+" "+result]
}
