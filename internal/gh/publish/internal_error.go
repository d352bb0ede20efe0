package publish

import (
	"context"
	"strings"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/report"
)

// internalErrorMarker starts slipway's internal-error notice, so a second
// failure edits the notice instead of adding another.
const internalErrorMarker = "<!-- slipway:internal-error -->"

// InternalError tells a pull request that slipway hit a bug while doing
// what (a job name like "plan", or an event) and stopped. It says nothing
// of the failure itself: the details, which may quote internals, are in the
// server log, found by the delivery id.
func InternalError(ctx context.Context, port gh.Port, repo gh.Repo, number int, bot, what, delivery string) error {
	body := internalErrorMarker + "\n" + report.InternalError(what, delivery)
	comments, err := port.Comments(ctx, repo, number)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if strings.EqualFold(c.Author, bot) && strings.HasPrefix(c.Body, internalErrorMarker) {
			return port.EditComment(ctx, repo, c.ID, body)
		}
	}
	_, err = port.CreateComment(ctx, repo, number, body)
	return err
}
