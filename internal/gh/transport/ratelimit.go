package transport

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kinds of GitHub rate limit.
const (
	// Primary is the hourly request quota running out
	// (X-RateLimit-Remaining: 0 until X-RateLimit-Reset).
	Primary = "primary"
	// Secondary is GitHub's limit on bursts and concurrency, answered 403
	// or 429, usually with Retry-After.
	Secondary = "secondary"
)

// secondaryWait is how long GitHub asks clients to wait after a secondary
// limit that names no time: "at least one minute".
const secondaryWait = time.Minute

// LimitError is a rate limit slipway does not sit out, because GitHub asks
// for a longer wait than github.max_retry_wait allows.
type LimitError struct {
	Kind    string    // Primary or Secondary
	Resets  time.Time // when GitHub will take calls again
	MaxWait time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("GitHub %s rate limit: lifts at %s (in %s), later than github.max_retry_wait (%s) allows waiting; the work is retried on the next event or resync",
		e.Kind, e.Resets.UTC().Format(time.RFC3339), time.Until(e.Resets).Round(time.Second), e.MaxWait)
}

// RateLimit tells whether res is a rate-limit answer and how long GitHub
// asks to wait before the next call. It follows GitHub's guidance: honour
// Retry-After; else, with no quota left, wait for X-RateLimit-Reset; else a
// secondary limit (a 429, or a 403 whose message says so) means a minute.
// The body it may read is put back for the caller.
func RateLimit(res *http.Response) (kind string, wait time.Duration) {
	if res == nil || (res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusTooManyRequests) {
		return "", 0
	}
	if d, ok := retryAfter(res.Header); ok {
		return Secondary, d
	}
	if res.Header.Get("X-RateLimit-Remaining") == "0" {
		reset, err := strconv.ParseInt(res.Header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil {
			return Primary, secondaryWait
		}
		return Primary, max(0, time.Until(time.Unix(reset, 0)))
	}
	if res.StatusCode == http.StatusTooManyRequests || mentionsSecondaryLimit(res) {
		return Secondary, secondaryWait
	}
	return "", 0
}

// retryAfter reads Retry-After in either of its forms: seconds or a date.
func retryAfter(h http.Header) (time.Duration, bool) {
	s := strings.TrimSpace(h.Get("Retry-After"))
	if s == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(s); err == nil {
		return max(0, time.Duration(secs)*time.Second), true
	}
	if at, err := http.ParseTime(s); err == nil {
		return max(0, time.Until(at)), true
	}
	return secondaryWait, true
}

// mentionsSecondaryLimit looks for the words go-github and GitHub's docs use
// for a secondary limit without headers (older answers said "abuse").
func mentionsSecondaryLimit(res *http.Response) bool {
	body := peekBody(res, 16<<10)
	lower := bytes.ToLower(body)
	return bytes.Contains(lower, []byte("secondary rate limit")) ||
		bytes.Contains(lower, []byte("secondary-rate-limits")) ||
		bytes.Contains(lower, []byte("abuse-rate-limits")) ||
		bytes.Contains(lower, []byte("abuse detection"))
}

// peekBody returns up to n bytes of res's body and leaves the body whole.
func peekBody(res *http.Response, n int64) []byte {
	if res.Body == nil || res.Body == http.NoBody {
		return nil
	}
	head, _ := io.ReadAll(io.LimitReader(res.Body, n))
	res.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), res.Body), res.Body}
	return head
}
