package renderproc

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/slipwayhq/slipway/internal/chartsrc"
	"github.com/slipwayhq/slipway/internal/render"
)

// Fetcher lets renders fetch charts through f. Render calls it in this
// process, never in the child: the credentials and the cache stay here,
// and the child only loads the archives it is handed.
func Fetcher(f *chartsrc.Fetcher) render.FetchFunc {
	if f == nil {
		return nil
	}
	return func(ctx context.Context, repository string, ref render.ChartRef) (render.FetchedChart, error) {
		c, err := f.FetchFor(ctx, repository, ref.Repo, ref.Name, ref.Version)
		if err != nil {
			// The plan says it too; operators see which sources fail.
			zerolog.Ctx(ctx).Warn().Str("chart", ref.String()).Err(err).Msg("chart fetch failed")
			return render.FetchedChart{}, err
		}
		return render.FetchedChart{ChartRef: ref, Path: c.Path, Digest: c.Digest}, nil
	}
}
