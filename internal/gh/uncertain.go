package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/backoff"
	"github.com/slipwayhq/slipway/internal/gh/transport"
)

// Uncertain tells whether err leaves it unknown if GitHub carried out a
// write: a 5xx answer, or a connection lost or timed out without an
// answer. GitHub's front end answers 502 when the back end is slow, and the
// back end often finishes the work anyway. Refusals (4xx, rate limits) are
// certain: nothing was done.
func Uncertain(err error) bool {
	if err == nil {
		return false
	}
	var answered *github.ErrorResponse
	if errors.As(err, &answered) {
		return answered.Response != nil && answered.Response.StatusCode >= http.StatusInternalServerError
	}
	var rate *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var accepted *github.AcceptedError
	var limited *transport.LimitError
	return !errors.As(err, &rate) && !errors.As(err, &abuse) && !errors.As(err, &accepted) && !errors.As(err, &limited)
}

// Writes whose answer was lost are tried this often in all, looking first
// each time whether the previous one took effect.
const writeAttempts = 4

var writeBackoff = backoff.Policy{Base: time.Second, Max: 8 * time.Second}

// clockSkew is how far GitHub's clock may be from ours when a write is
// recognised by its creation time.
const clockSkew = time.Minute

// writeOnce performs a write that creates something on GitHub, so that a
// lost answer never makes it twice: after an uncertain failure it waits,
// asks landed whether the write took effect, and writes again only if not.
// When ctx ends it stops with the write's error.
func writeOnce(ctx context.Context, what string, write func() error, landed func() (bool, error)) error {
	err := write()
	for attempt := 1; Uncertain(err) && attempt < writeAttempts; attempt++ {
		log := zerolog.Ctx(ctx).Warn().Err(err).Str("write", what).Int("attempt", attempt+1)
		if serr := backoff.Sleep(ctx, writeBackoff.Delay(attempt)); serr != nil {
			return err
		}
		ok, lerr := landed()
		if lerr != nil {
			return fmt.Errorf("%w (looking whether it took effect anyway: %v)", err, lerr)
		}
		if ok {
			log.Msg("GitHub's answer was lost but the write took effect")
			return nil
		}
		log.Msg("GitHub's answer was lost and the write did not take effect: writing again")
		err = write()
	}
	return err
}

// after reports whether t (GitHub's clock) is not before start (ours),
// give or take clockSkew.
func after(t github.Timestamp, start time.Time) bool {
	return !t.Time.Before(start.Add(-clockSkew))
}
