// Package publish writes slipway's results to GitHub through the port: the
// sticky plan comment, edited in place, and check run payloads.
package publish

import (
	"context"
	"strings"

	"github.com/slipwayhq/slipway/internal/ghport"
)

// PlanMarker starts every part of the sticky plan comment, so slipway finds
// its own comment again after a restart or on another replica.
const PlanMarker = "<!-- slipway:plan -->"

// Sticky makes the pull request's slipway comments say parts: the comments
// by bot that start with PlanMarker are edited in place, one per part; a new
// comment is created only when the report needs more parts than exist, and
// parts no longer needed are deleted.
func Sticky(ctx context.Context, gh ghport.Port, repo ghport.Repo, number int, bot string, parts []string) error {
	comments, err := gh.Comments(ctx, repo, number)
	if err != nil {
		return err
	}
	var mine []ghport.Comment
	for _, c := range comments {
		if strings.EqualFold(c.Author, bot) && strings.HasPrefix(c.Body, PlanMarker) {
			mine = append(mine, c)
		}
	}
	for i, body := range parts {
		switch {
		case i >= len(mine):
			if _, err := gh.CreateComment(ctx, repo, number, body); err != nil {
				return err
			}
		case mine[i].Body != body:
			if err := gh.EditComment(ctx, repo, mine[i].ID, body); err != nil {
				return err
			}
		}
	}
	for _, extra := range mine[min(len(parts), len(mine)):] {
		if err := gh.DeleteComment(ctx, repo, extra.ID); err != nil {
			return err
		}
	}
	return nil
}

// MarkStale puts note at the top of the sticky comment, if there is one, so
// a reader of a closed pull request knows its plan no longer holds.
func MarkStale(ctx context.Context, gh ghport.Port, repo ghport.Repo, number int, bot, note string) error {
	comments, err := gh.Comments(ctx, repo, number)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if !strings.EqualFold(c.Author, bot) || !strings.HasPrefix(c.Body, PlanMarker) {
			continue
		}
		rest := strings.TrimPrefix(c.Body, PlanMarker)
		if strings.HasPrefix(strings.TrimLeft(rest, "\n"), "> [!WARNING]") {
			return nil // already marked
		}
		return gh.EditComment(ctx, repo, c.ID, PlanMarker+"\n> [!WARNING]\n> "+note+"\n"+rest)
	}
	return nil
}
