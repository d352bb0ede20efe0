package githubsim

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// Fault makes matching requests fail instead of reaching their endpoint,
// for testing how a client copes with GitHub's rate limits and outages.
type Fault struct {
	Method  string      // "" matches every method
	Path    string      // regular expression searched in the URL path, e.g. `/pulls/\d+$`; "" matches all
	Times   int         // how many matching requests fail; 0 means once
	Status  int         // HTTP status to answer
	Message string      // GitHub error message; defaults to the status text
	DocURL  string      // documentation_url; go-github classifies some errors by it
	Header  http.Header // extra response headers, e.g. Retry-After
	// AfterEffect lets the request reach its endpoint and take effect, and
	// only then answers with the fault: GitHub's 502 after the back end did
	// the work, the case a client must not repeat blindly.
	AfterEffect bool
	// Delay holds the request that long before anything else happens; a
	// client that gives up meanwhile gets no answer and its request takes
	// no effect. With Status 0 the request then reaches its endpoint as
	// usual: a slow GitHub (see Slow).
	Delay time.Duration

	re *regexp.Regexp
}

// SecondaryRateLimit is GitHub's 403 for too many requests in a short time;
// go-github surfaces it as *github.AbuseRateLimitError with RetryAfter.
func SecondaryRateLimit(method, path string, retryAfter time.Duration) Fault {
	return Fault{
		Method: method, Path: path, Status: http.StatusForbidden,
		Message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		DocURL:  "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		Header:  http.Header{"Retry-After": {strconv.Itoa(int(retryAfter.Seconds()))}},
	}
}

// Slow answers matching requests as usual, but only after delay, as GitHub
// sometimes does; it holds one call of a client without closing the door
// to its others, as a rate limit would.
func Slow(method, path string, delay time.Duration) Fault {
	return Fault{Method: method, Path: path, Delay: delay}
}

// PrimaryRateLimit is GitHub's 403 when the hourly quota is used up;
// go-github surfaces it as *github.RateLimitError.
func PrimaryRateLimit(method, path string, reset time.Time) Fault {
	return Fault{
		Method: method, Path: path, Status: http.StatusForbidden,
		Message: "API rate limit exceeded for installation.",
		DocURL:  "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits",
		Header: http.Header{
			"X-Ratelimit-Limit":     {"5000"},
			"X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Used":      {"5000"},
			"X-Ratelimit-Reset":     {strconv.FormatInt(reset.Unix(), 10)},
			"X-Ratelimit-Resource":  {"core"},
		},
	}
}

// ServerError answers with a 5xx such as 502 Bad Gateway, which GitHub's
// front end produces under load.
func ServerError(method, path string, status int) Fault {
	return Fault{Method: method, Path: path, Status: status, Message: "Server Error"}
}

// LostAnswer is a 5xx answered after the request took effect, as GitHub's
// front end answers 502 or 504 when the back end was slow but finished.
func LostAnswer(method, path string, status int) Fault {
	return Fault{Method: method, Path: path, Status: status, Message: "Server Error", AfterEffect: true}
}

// InjectFault arms f; faults are matched in the order they were injected.
// An invalid Path regexp is reported as an error.
func (s *Sim) InjectFault(f Fault) error {
	re, err := regexp.Compile(f.Path)
	if err != nil {
		return err
	}
	f.re = re
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Status == 0 && f.Delay == 0 {
		f.Status = http.StatusInternalServerError
	}
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.faults = append(s.log.faults, &f)
	return nil
}

// PendingFaults counts matching requests still to be failed.
func (s *Sim) PendingFaults() int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	n := 0
	for _, f := range s.log.faults {
		n += f.Times
	}
	return n
}

func (l *recorder) takeFault(method, path string) *Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, f := range l.faults {
		if (f.Method == "" || f.Method == method) && f.re.MatchString(path) {
			f.Times--
			if f.Times == 0 {
				l.faults = append(l.faults[:i], l.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

// wait holds a request for f.Delay; false means its client gave up first.
func (f *Fault) wait(ctx context.Context) bool {
	if f.Delay <= 0 {
		return true
	}
	t := time.NewTimer(f.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (f *Fault) write(w http.ResponseWriter) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	doc := map[string]string{"message": msg, "documentation_url": f.DocURL, "status": strconv.Itoa(f.Status)}
	if f.DocURL == "" {
		doc["documentation_url"] = docsURL
	}
	body, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(f.Status)
	_, _ = w.Write(body)
}

// ClearFaults disarms every fault still pending: the end of an outage.
func (s *Sim) ClearFaults() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.faults = nil
}
