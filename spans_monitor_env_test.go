package ctxtrail

import (
	"slices"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans"
)

// The variable spans.NewMonitor reads is listed with the ones Install honours, so the
// environment's documentation in one place stays whole.
func TestHonouredEnvListsMonitorJaegerUI(t *testing.T) {
	if !slices.Contains(honouredEnv, spans.EnvJaegerUI) {
		t.Errorf("honouredEnv lacks %s", spans.EnvJaegerUI)
	}
}
