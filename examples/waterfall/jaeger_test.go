package waterfall

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A trace as Jaeger v2.13 returned it for GET /api/v3/traces/{id}, captured on this machine.
const jaegerAnswer = `{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"probe"}}]},"scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"a815d18177f0e0cf8ba0cb835c1f7bf3","spanId":"1788b820b76abaa7","parentSpanId":"4ef6157490cd8419","flags":257,"name":"child","kind":1,"startTimeUnixNano":"1795535212391887363","endTimeUnixNano":"1795535212391888675","status":{"message":"bad","code":2}},{"traceId":"a815d18177f0e0cf8ba0cb835c1f7bf3","spanId":"4ef6157490cd8419","flags":257,"name":"root","kind":1,"startTimeUnixNano":"1795535212391875871","endTimeUnixNano":"1795535212391894697","status":{}}]}]}]}}`

func TestFetchJaeger(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v3/traces/a815d18177f0e0cf8ba0cb835c1f7bf3" {
			_, _ = w.Write([]byte(jaegerAnswer))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"httpCode":404,"message":"No traces found"}}`))
	}))
	defer srv.Close()

	spans, err := FetchJaeger(context.Background(), srv.Client(), srv.URL, "a815d18177f0e0cf8ba0cb835c1f7bf3")
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	child := spans[0]
	if child.Name != "child" || child.ParentID != "4ef6157490cd8419" || child.Service != "probe" || !child.Error || child.StatusMessage != "bad" {
		t.Errorf("child %+v", child)
	}
	if child.Duration() != 1312 {
		t.Errorf("child duration %v, want 1.312µs", child.Duration())
	}
	if spans[1].Error || spans[1].ParentID != "" {
		t.Errorf("root %+v", spans[1])
	}

	_, err = FetchJaeger(context.Background(), srv.Client(), srv.URL, "00000000000000000000000000000001")
	if !errors.Is(err, ErrTraceNotFound) {
		t.Fatalf("missing trace: %v", err)
	}
}
