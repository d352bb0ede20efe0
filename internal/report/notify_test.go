package report

import "testing"

func TestNotifyLine(t *testing.T) {
	for _, tt := range []struct {
		event, outcome, summary, want string
	}{
		{"deploy", "success", "2 created, 1 configured", "✅ slipway: deploy of acme/shop to staging at 0123456 succeeded (2 created, 1 configured)"},
		{"apply", "failure", "1 unhealthy", "❌ slipway: apply of acme/shop to staging at 0123456 failed (1 unhealthy)"},
		{"rollback", "refused", "", "⏹️ slipway: rollback of acme/shop to staging at 0123456 was refused"},
		{"drift", "drifted", "~1 -2", "❌ slipway: drift check of acme/shop in staging at 0123456 found drift (~1 -2)"},
		{"drift", "in_sync", "", "✅ slipway: drift check of acme/shop in staging at 0123456 is back in sync"},
	} {
		if got := NotifyLine(tt.event, tt.outcome, "acme/shop", "staging", "0123456789abcdef0123456789abcdef01234567", tt.summary); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}
