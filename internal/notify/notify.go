package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/version"
)

// Receiver kinds.
const (
	KindSlack   = "slack"
	KindWebhook = "webhook"
)

// Headers of a generic webhook.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// body under the receiver's secret, as GitHub signs its webhooks.
	SignatureHeader = "X-Slipway-Signature-256"
	EventHeader     = "X-Slipway-Event"
	DeliveryHeader  = "X-Slipway-Delivery"
)

// Defaults for Options left zero.
const (
	DefaultQueue    = 100
	DefaultTimeout  = 10 * time.Second
	DefaultAttempts = 3
)

// Receiver is one entry of the notify list, its URL and secret already
// read from where the config says.
type Receiver struct {
	// Name identifies it in logs ("notify[0]"); its URL never appears
	// there, since a Slack webhook URL is a credential.
	Name   string
	Kind   string
	URL    string
	Secret string   // webhook: the HMAC key
	Events []string // empty: every event
}

// Options bound the notifier.
type Options struct {
	// Queue is how many messages may wait per receiver; beyond it new
	// ones are dropped and counted.
	Queue    int
	Timeout  time.Duration // one attempt, body included
	Attempts int
	Backoff  backoff.Policy
	Client   *http.Client // nil: a client that follows no redirects
	// Count is told each message's fate: sent, failed or dropped.
	Count func(kind, result string)
}

// Results counted.
const (
	ResultSent    = "sent"
	ResultFailed  = "failed"
	ResultDropped = "dropped"
)

// Notifier sends messages to its receivers, each from a bounded queue
// of its own, so that one slow receiver holds up no other and nothing
// that sends.
type Notifier struct {
	log   zerolog.Logger
	opts  Options
	sinks []*sink
	wg    sync.WaitGroup
	// mu orders Send against Close: work that outlives the shutdown bound
	// may still report, and then finds the notifier closed.
	mu     sync.RWMutex
	closed bool
	// stop ends the attempts under way when Close runs out of time.
	stop context.CancelFunc
	ctx  context.Context
}

type sink struct {
	Receiver
	queue chan Message
}

// New starts a notifier for receivers; with none it does nothing.
func New(receivers []Receiver, log zerolog.Logger, opts Options) *Notifier {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultAttempts
	}
	if opts.Backoff == (backoff.Policy{}) {
		opts.Backoff = backoff.Policy{Base: time.Second, Max: 10 * time.Second}
	}
	if opts.Client == nil {
		// A receiver's URL is the only place a message may go: a redirect
		// from it is not followed.
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Count == nil {
		opts.Count = func(string, string) {}
	}
	n := &Notifier{log: log, opts: opts}
	n.ctx, n.stop = context.WithCancel(context.Background())
	for _, r := range receivers {
		s := &sink{Receiver: r, queue: make(chan Message, opts.Queue)}
		n.sinks = append(n.sinks, s)
		n.wg.Add(1)
		go n.run(s)
	}
	return n
}

// Send queues m for every receiver that wants its event, and returns at
// once: a full queue drops m for that receiver.
func (n *Notifier) Send(m Message) {
	if n == nil {
		return
	}
	if m.ID == "" {
		m.ID = newID()
	}
	if m.Time.IsZero() {
		m.Time = time.Now().UTC()
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, s := range n.sinks {
		if n.closed {
			n.opts.Count(s.Kind, ResultDropped)
			continue
		}
		if len(s.Events) > 0 && !slices.Contains(s.Events, m.Event) {
			continue
		}
		select {
		case s.queue <- m:
		default:
			n.opts.Count(s.Kind, ResultDropped)
			n.log.Warn().Str("receiver", s.Name).Str("event", m.Event).Msg("notification dropped: the receiver's queue is full")
		}
	}
}

// Close sends what is queued until ctx ends, then gives up on the rest;
// what is sent after Close is dropped and counted.
func (n *Notifier) Close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		for _, s := range n.sinks {
			close(s.queue)
		}
	}
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.stop()
		return nil
	case <-ctx.Done():
		n.stop()
		<-done
		return fmt.Errorf("notifications not sent before shutdown: %w", ctx.Err())
	}
}

func (n *Notifier) run(s *sink) {
	defer n.wg.Done()
	for m := range s.queue {
		if n.ctx.Err() != nil {
			n.opts.Count(s.Kind, ResultDropped)
			continue
		}
		log := n.log.With().Str("receiver", s.Name).Str("event", m.Event).Str("id", m.ID).Logger()
		if err := n.deliver(s, m); err != nil {
			n.opts.Count(s.Kind, ResultFailed)
			log.Warn().Err(err).Msg("notification not delivered")
			continue
		}
		n.opts.Count(s.Kind, ResultSent)
		log.Debug().Msg("notification delivered")
	}
}

// deliver tries m a few times: again after no answer, a 429 or a 5xx.
func (n *Notifier) deliver(s *sink, m Message) error {
	body, err := encode(s.Kind, m)
	if err != nil {
		return err
	}
	var last error
	for attempt := 1; attempt <= n.opts.Attempts; attempt++ {
		if attempt > 1 {
			if err := backoff.Sleep(n.ctx, n.opts.Backoff.Delay(attempt-1)); err != nil {
				return errors.Join(last, err)
			}
		}
		retry, err := n.post(s, m, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return last
}

func (n *Notifier) post(s *sink, m Message, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("the receiver's URL is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "slipway/"+version.Version)
	if s.Kind == KindWebhook {
		req.Header.Set(EventHeader, m.Event)
		req.Header.Set(DeliveryHeader, m.ID)
		req.Header.Set(SignatureHeader, Sign([]byte(s.Secret), body))
	}
	res, err := n.opts.Client.Do(req)
	if err != nil {
		// The error names the URL; say only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("no answer: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return false, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return true, fmt.Errorf("answered %d", res.StatusCode)
	}
	return false, fmt.Errorf("answered %d", res.StatusCode)
}

func encode(kind string, m Message) ([]byte, error) {
	if kind == KindSlack {
		return m.slackBody()
	}
	return json.Marshal(m)
}

// Sign is the value of SignatureHeader for body under secret.
func Sign(secret, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

// Verify tells whether signature is body's under secret, in constant
// time: what a receiver does with SignatureHeader.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
