package trail

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/ctxtrail/ctxtrail/slogbridge"
)

// TestSlogbridgeSeam (over a handler that is enabled: DiscardHandler is not) wires SlogBreadcrumb into slogbridge's error hook: an error record logged
// with a request's context becomes a crumb of that request only.
func TestSlogbridgeSeam(t *testing.T) {
	log := slog.New(slogbridge.NewHandler(slog.NewJSONHandler(io.Discard, nil), slogbridge.WithErrorHook(SlogBreadcrumb)))
	reqA := Start(context.Background())
	reqB := Start(context.Background())

	log.InfoContext(reqA, "fine")
	log.ErrorContext(reqA, "card declined")
	log.WarnContext(reqB, "slow")
	log.Log(reqB, slog.LevelError+2, "worse than error")

	got := FromContext(reqA).Breadcrumbs()
	if !slices.Equal(messages(got), []string{"card declined"}) || got[0].Level != LevelError || got[0].Category != LogCategory {
		t.Fatalf("request A's crumbs = %+v, want the error line only", got)
	}
	if b := FromContext(reqB).Breadcrumbs(); len(b) != 1 || b[0].Level != LevelError {
		t.Fatalf("request B's crumbs = %+v, want the record above error only", b)
	}
}
