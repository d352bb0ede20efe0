package publish

import (
	"context"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/gh"
)

// internalErrorMarker starts slipway's internal-error notice, so a second
// failure edits the notice instead of adding another.
const internalErrorMarker = "<!-- slipway:internal-error -->"

// InternalError tells a pull request that slipway hit a bug while doing
// what (a job name like "plan", or an event) and stopped. It says nothing
// of the failure itself: the details, which may quote internals, are in the
// server log, found by the delivery id.
func InternalError(ctx context.Context, port gh.Port, repo gh.Repo, number int, bot, what, delivery string) error {
	where := "the server log"
	if delivery != "" {
		where = fmt.Sprintf("the server log (delivery `%s`)", delivery)
	}
	body := fmt.Sprintf("%s\n> [!WARNING]\n> slipway hit an internal error during `%s` and stopped, so that work was not done. "+
		"Push again or comment `/plan` to retry; if it keeps failing, whoever runs slipway can find the error in %s.\n",
		internalErrorMarker, what, where)
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
