package githubsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v60/github"
)

// Delivery is one webhook delivery attempt, as GitHub's "Recent Deliveries"
// page shows it.
type Delivery struct {
	ID           string // X-GitHub-Delivery; a redelivery keeps the original's
	Event        string // X-GitHub-Event
	Action       string // the payload's "action", if any
	Payload      []byte
	Header       http.Header // request headers as sent
	Sent         bool        // false when no webhook URL was configured
	StatusCode   int
	ResponseBody string
	Error        string // transport error, if the receiver could not be reached
	Redelivery   bool
	Time         time.Time
	Duration     time.Duration
}

// OK reports whether the receiver accepted the delivery (2xx).
func (d Delivery) OK() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// DeliveryError is returned by scripted actions whose webhook was not
// accepted: the action itself happened, but the server under test failed it.
type DeliveryError struct{ Delivery Delivery }

func (e *DeliveryError) Error() string {
	d := e.Delivery
	if d.Error != "" {
		return fmt.Sprintf("githubsim: %s webhook %s: %s", d.Event, d.ID, d.Error)
	}
	return fmt.Sprintf("githubsim: %s webhook %s answered %d: %s", d.Event, d.ID, d.StatusCode, d.ResponseBody)
}

func (s *Sim) hookID() int64 { return 100000 + s.opts.AppID }

// Deliveries returns every delivery so far, oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return append([]Delivery(nil), s.log.deliveries...)
}

// SendWebhook signs and delivers an arbitrary payload, for events the
// scripted actions do not cover. The error is only for transport failures;
// the receiver's answer is in the Delivery.
func (s *Sim) SendWebhook(event string, payload any) (Delivery, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return Delivery{}, err
	}
	d := s.post(event, body, newDeliveryID(), nil, false)
	return d, transportErr(d)
}

// SendRaw delivers body as event with the usual headers (signed with the
// webhook secret) overridden by headers; an override with an empty value
// removes that header. Tests use it to forge signatures or payloads.
func (s *Sim) SendRaw(event string, body []byte, headers http.Header) (Delivery, error) {
	d := s.post(event, body, newDeliveryID(), headers, false)
	return d, transportErr(d)
}

// Redeliver sends a recorded delivery again with the same delivery ID and
// payload, as GitHub's "Redeliver" button does.
func (s *Sim) Redeliver(deliveryID string) (Delivery, error) {
	for _, d := range s.Deliveries() {
		if d.ID == deliveryID {
			nd := s.post(d.Event, d.Payload, d.ID, nil, true)
			return nd, transportErr(nd)
		}
	}
	return Delivery{}, fmt.Errorf("githubsim: no delivery %q", deliveryID)
}

// Ping sends the "ping" event GitHub sends when an app's webhook is set up.
func (s *Sim) Ping() (Delivery, error) {
	s.mu.Lock()
	app := s.appObj()
	ev := &github.PingEvent{
		Zen:    github.String("Design for failure."),
		HookID: github.Int64(s.hookID()),
		Hook: &github.Hook{
			ID:     github.Int64(s.hookID()),
			Type:   github.String("App"),
			Name:   github.String("web"),
			Active: github.Bool(true),
			Events: app.Events,
			Config: &github.HookConfig{ContentType: github.String("json"), InsecureSSL: github.String("0"), URL: github.String(s.hookTo)},
		},
		Sender: app.Owner,
	}
	s.mu.Unlock()
	return s.SendWebhook("ping", ev)
}

// send delivers a scripted action's webhook synchronously; a receiver that
// does not accept it is reported as *DeliveryError.
func (s *Sim) send(event string, payload any) error {
	d, err := s.SendWebhook(event, payload)
	if err != nil || (d.Sent && !d.OK()) {
		return &DeliveryError{Delivery: d}
	}
	return nil
}

// deliverAsync queues webhooks caused by API calls and sends them in the
// background, one at a time in the order the calls happened; Flush waits for
// the queue to drain. Delivery order matters to receivers that keep the last
// state they saw (an "edited" must not overtake its "created").
func (s *Sim) deliverAsync(events []outgoing) {
	if len(events) == 0 {
		return
	}
	s.async.Add(len(events))
	s.outbox.mu.Lock()
	s.outbox.queue = append(s.outbox.queue, events...)
	start := !s.outbox.sending
	s.outbox.sending = true
	s.outbox.mu.Unlock()
	if start {
		go s.drainOutbox()
	}
}

func (s *Sim) drainOutbox() {
	for {
		s.outbox.mu.Lock()
		if len(s.outbox.queue) == 0 {
			s.outbox.sending = false
			s.outbox.mu.Unlock()
			return
		}
		e := s.outbox.queue[0]
		s.outbox.queue = s.outbox.queue[1:]
		s.outbox.mu.Unlock()
		_, _ = s.SendWebhook(e.event, e.payload)
		s.async.Done()
	}
}

func (s *Sim) post(event string, body []byte, id string, override http.Header, redelivery bool) Delivery {
	d := Delivery{ID: id, Event: event, Payload: body, Redelivery: redelivery, Time: time.Now().UTC()}
	var probe struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(body, &probe)
	d.Action = probe.Action
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/sim")
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", id)
	h.Set("X-GitHub-Hook-ID", strconv.FormatInt(s.hookID(), 10))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(s.opts.AppID, 10))
	if s.opts.WebhookSecret != "" {
		h.Set("X-Hub-Signature", "sha1="+sign(sha1.New, s.opts.WebhookSecret, body))
		h.Set("X-Hub-Signature-256", "sha256="+sign(sha256.New, s.opts.WebhookSecret, body))
	}
	for k, vs := range override {
		h.Del(k)
		for _, v := range vs {
			if v != "" {
				h.Add(k, v)
			}
		}
	}
	d.Header = h
	if url := s.webhookURL(); url != "" {
		s.transmit(&d, url)
	}
	s.log.mu.Lock()
	s.log.deliveries = append(s.log.deliveries, d)
	s.log.mu.Unlock()
	return d
}

func (s *Sim) transmit(d *Delivery, url string) {
	d.Sent = true
	start := time.Now()
	defer func() { d.Duration = time.Since(start) }()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Payload))
	if err != nil {
		d.Error = err.Error()
		return
	}
	req.Header = d.Header.Clone()
	resp, err := s.hooks.Do(req)
	if err != nil {
		d.Error = err.Error()
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	d.StatusCode, d.ResponseBody = resp.StatusCode, string(b)
}

func transportErr(d Delivery) error {
	if d.Error != "" {
		return errors.New(d.Error)
	}
	return nil
}

func sign(h func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// newDeliveryID is a random (version 4) UUID, like GitHub's delivery GUIDs.
func newDeliveryID() string {
	b, _ := hex.DecodeString(RandomHex(16))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
