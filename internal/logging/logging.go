// Package logging builds slipway's zerolog logger and the per-event context
// fields every log line about a delivery carries.
package logging

import (
	"context"
	"io"
	"time"

	"github.com/rs/zerolog"
)

// Field names shared by every package, so log queries stay stable.
const (
	FieldDelivery     = "delivery"
	FieldEvent        = "event"
	FieldInstallation = "installation"
	FieldRepo         = "repo"
	FieldPR           = "pr"
	FieldEnv          = "env"
	FieldSHA          = "sha"
)

// New returns a JSON logger at level writing to w.
func New(w io.Writer, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), err
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// Delivery adds the delivery's identity to ctx's logger.
func Delivery(ctx context.Context, event, delivery string) context.Context {
	l := zerolog.Ctx(ctx).With().Str(FieldEvent, event).Str(FieldDelivery, delivery).Logger()
	return l.WithContext(ctx)
}

// Repo adds the installation, repository and (when non-zero) pull request
// number to ctx's logger and returns it with the logger.
func Repo(ctx context.Context, installation int64, repo string, pr int) (context.Context, zerolog.Logger) {
	c := zerolog.Ctx(ctx).With().Int64(FieldInstallation, installation).Str(FieldRepo, repo)
	if pr != 0 {
		c = c.Int(FieldPR, pr)
	}
	l := c.Logger()
	return l.WithContext(ctx), l
}
