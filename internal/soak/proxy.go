package soak

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// front is the load balancer GitHub's webhooks reach the replicas through,
// as a Service would spread them in a cluster. It is also where deliveries
// get lost (the front answers 502 and forwards nothing) and duplicated
// (two replicas get the same delivery).
type front struct {
	mu        sync.Mutex
	rng       *rand.Rand
	replicas  []*replica
	drop, dup int // deliveries still to lose, to duplicate
	client    *http.Client
}

func newFront(seed uint64) *front {
	return &front{rng: rand.New(rand.NewPCG(seed, 0x5eed)), client: &http.Client{Timeout: 60 * time.Second}}
}

// pick chooses up to n distinct ready replicas.
func (f *front) pick(n int) []*replica {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ready []*replica
	for _, r := range f.replicas {
		if r.ready() {
			ready = append(ready, r)
		}
	}
	f.rng.Shuffle(len(ready), func(i, j int) { ready[i], ready[j] = ready[j], ready[i] })
	return ready[:min(n, len(ready))]
}

// take consumes one armed loss or duplication.
func (f *front) take() (drop, dup bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.drop > 0:
		f.drop--
		return true, false
	case f.dup > 0:
		f.dup--
		return false, true
	}
	return false, false
}

func (f *front) arm(drop, dup int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop += drop
	f.dup += dup
}

func (f *front) disarm() { f.mu.Lock(); f.drop, f.dup = 0, 0; f.mu.Unlock() }

func (f *front) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	drop, dup := f.take()
	if drop {
		http.Error(w, "soak: delivery lost", http.StatusBadGateway)
		return
	}
	n := 1
	if dup {
		n = 2
	}
	targets := f.pick(n)
	if len(targets) == 0 {
		http.Error(w, "soak: no replica ready", http.StatusServiceUnavailable)
		return
	}
	type answer struct {
		status int
		body   []byte
	}
	answers := make([]answer, len(targets))
	var wg sync.WaitGroup
	for i, r := range targets {
		wg.Go(func() {
			out, err := http.NewRequestWithContext(req.Context(), http.MethodPost, r.hookURL(), bytes.NewReader(body))
			if err != nil {
				answers[i] = answer{http.StatusInternalServerError, []byte(err.Error())}
				return
			}
			out.Header = req.Header.Clone()
			res, err := f.client.Do(out)
			if err != nil {
				answers[i] = answer{http.StatusBadGateway, []byte(err.Error())}
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
			answers[i] = answer{res.StatusCode, b}
		})
	}
	wg.Wait()
	w.WriteHeader(answers[0].status)
	_, _ = w.Write(answers[0].body)
}

// gate is a TCP proxy the replicas reach the API server through: an
// outage drops every connection and refuses new ones until it ends, which
// is what a client sees of an API server restart.
type gate struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	until  time.Time // closed until then
}

func newGate(target string) (*gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gate{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go g.serve()
	return g, nil
}

func (g *gate) addr() string { return g.ln.Addr().String() }

func (g *gate) close() { g.ln.Close(); g.outage(0) }

func (g *gate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		go g.pipe(c)
	}
}

func (g *gate) pipe(down net.Conn) {
	if !g.track(down) {
		return
	}
	up, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", g.target)
	if err != nil || !g.track(up) {
		down.Close()
		return
	}
	go func() { _, _ = io.Copy(up, down); up.Close() }()
	_, _ = io.Copy(down, up)
	down.Close()
}

func (g *gate) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Now().Before(g.until) {
		c.Close()
		return false
	}
	g.conns[c] = true
	return true
}

// outage cuts every connection and refuses new ones for d.
func (g *gate) outage(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.until = time.Now().Add(d)
	for c := range g.conns {
		c.Close()
	}
	g.conns = map[net.Conn]bool{}
}

// end lifts an outage at once.
func (g *gate) end() { g.mu.Lock(); g.until = time.Time{}; g.mu.Unlock() }
