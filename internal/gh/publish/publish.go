// Package publish writes slipway's results to GitHub through the port: the
// sticky plan comment, edited in place, and check run payloads.
package publish

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/internal/gh"
	"github.com/slipwayhq/slipway/internal/report"
)

// PlanMarker starts every part of the sticky plan comment, so slipway finds
// its own comment again after a restart or on another replica.
const PlanMarker = "<!-- slipway:plan -->"

// Sticky makes the pull request's slipway comments say parts: the comments
// by bot that start with PlanMarker are edited in place, one per part; a new
// comment is created only when the report needs more parts than exist, and
// parts no longer needed are deleted.
func Sticky(ctx context.Context, port gh.Port, repo gh.Repo, number int, bot string, parts []string) error {
	comments, err := port.Comments(ctx, repo, number)
	if err != nil {
		return err
	}
	var mine []gh.Comment
	for _, c := range comments {
		if strings.EqualFold(c.Author, bot) && strings.HasPrefix(c.Body, PlanMarker) {
			mine = append(mine, c)
		}
	}
	for i, body := range parts {
		switch {
		case i >= len(mine):
			if _, err := port.CreateComment(ctx, repo, number, body); err != nil {
				return err
			}
		case mine[i].Body != body:
			if err := port.EditComment(ctx, repo, mine[i].ID, body); err != nil {
				return err
			}
		}
	}
	for _, extra := range mine[min(len(parts), len(mine)):] {
		if err := port.DeleteComment(ctx, repo, extra.ID); err != nil {
			return err
		}
	}
	return nil
}

// MarkStale puts note at the top of the sticky comment, if there is one, so
// a reader of a closed pull request knows its plan no longer holds.
func MarkStale(ctx context.Context, port gh.Port, repo gh.Repo, number int, bot, note string) error {
	comments, err := port.Comments(ctx, repo, number)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if !strings.EqualFold(c.Author, bot) || !strings.HasPrefix(c.Body, PlanMarker) {
			continue
		}
		rest := strings.TrimPrefix(c.Body, PlanMarker)
		if report.HasWarning(rest) {
			return nil // already marked
		}
		return port.EditComment(ctx, repo, c.ID, PlanMarker+"\n"+report.StaleWarning(note)+rest)
	}
	return nil
}

// Markers around the outcome block Outcome keeps in the sticky comment.
const (
	outcomeStart = "<!-- slipway:outcome -->"
	outcomeEnd   = "<!-- /slipway:outcome -->"
)

// Outcome shows text (what an apply did) at the top of the sticky comment,
// replacing the outcome shown before; the next plan replaces the whole
// comment. Without a sticky comment, text becomes one.
func Outcome(ctx context.Context, port gh.Port, repo gh.Repo, number int, bot, text string) error {
	comments, err := port.Comments(ctx, repo, number)
	if err != nil {
		return err
	}
	block := outcomeStart + "\n" + strings.TrimSpace(text) + "\n" + outcomeEnd + "\n"
	for _, c := range comments {
		if !strings.EqualFold(c.Author, bot) || !strings.HasPrefix(c.Body, PlanMarker) {
			continue
		}
		rest := strings.TrimPrefix(c.Body, PlanMarker+"\n")
		if i := strings.Index(rest, outcomeStart); i >= 0 {
			if j := strings.Index(rest[i:], outcomeEnd+"\n"); j >= 0 {
				rest = rest[:i] + rest[i+j+len(outcomeEnd)+1:]
			}
		}
		body := PlanMarker + "\n" + block + rest
		if utf8.RuneCountInString(body) > gh.CommentLimit {
			break // a plan at the size limit: say it in a comment of its own
		}
		return port.EditComment(ctx, repo, c.ID, body)
	}
	_, err = port.CreateComment(ctx, repo, number, strings.TrimSpace(text))
	return err
}
