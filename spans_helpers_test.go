package ctxtrail_test

import (
	"io"
	"net/http"
	"testing"
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
