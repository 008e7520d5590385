package ctxtrail_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/ctxtrail/ctxtrail/spans"
	"go.opentelemetry.io/otel/trace"
)

// The tests of Install with a spans.Monitor (spans_monitor_*_test.go) live here: spans cannot
// import the installer, not even in its tests, since the installer wires the monitor.

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// nameStats indexes a monitor's counts by "name/kind".
func nameStats(st spans.Stats) map[string]spans.NameStats {
	out := make(map[string]spans.NameStats)
	for _, n := range st.ByName {
		kind := n.Kind.String()
		if n.Kind == trace.SpanKindUnspecified {
			kind = "unspecified"
		}
		out[fmt.Sprintf("%s/%s", n.Name, kind)] = n
	}
	return out
}
