package main

import (
	"bytes"
	"strings"
	"testing"
)

// The command prints what is applied and what is not, and its status says whether Install
// would accept the file.
func TestCheck(t *testing.T) {
	t.Setenv("CTXTRAIL_KEEP", "on") // replaced by the file, which does not name it
	var out, errs bytes.Buffer
	if code := run([]string{"check", "../../testdata/service.yaml"}, &out, &errs); code != 0 {
		t.Fatalf("status %d for the README's file:\n%s%s", code, out.String(), errs.String())
	}
	for _, w := range []string{"## applied", "propagator: tracecontext,baggage,xtrace", "ctxtrail: monitor at /debug/ctxtrail",
		"max_routes=200", "keep errors and slow traces kept whole: slow_threshold=500ms",
		"evidence profile_labels=true; flight_recorder slow_threshold=2s",
		"environment replaced by the file, not read: CTXTRAIL_KEEP (instrumentation/development.go.ctxtrail.keep)", "(none)", "Install applies this file"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output does not say %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"check", "../../testdata/unknown-key.yaml"}, &out, &errs); code != 1 {
		t.Fatalf("status %d for a file with an unknown key, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "line 9: error: tracer_provider.processors[0].batch.shedule_delay") {
		t.Errorf("output does not name the misspelt key and its line:\n%s", out.String())
	}
	if code := run([]string{"lint"}, &out, &errs); code != 2 {
		t.Errorf("status %d for a usage error, want 2", code)
	}
}
