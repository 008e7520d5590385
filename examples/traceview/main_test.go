package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const line = `{"Name":"GET /x","SpanContext":{"TraceID":"aa","SpanID":"01"},"Parent":{"SpanID":"0000000000000000"},"StartTime":"2026-01-01T00:00:00Z","EndTime":"2026-01-01T00:00:00.002Z","Status":{"Code":"Unset"},"Resource":[{"Key":"service.name","Value":{"Type":"STRING","Value":"svc"}}]}`

func TestStdin(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, strings.NewReader(line+"\n"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "trace aa  1 spans  2.0ms  ok") || !strings.Contains(out.String(), "svc  GET /x") {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestJaeger(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v3/traces/bb" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},"scopeSpans":[{"spans":[{"traceId":"bb","spanId":"02","name":"POST /orders","startTimeUnixNano":"1000","endTimeUnixNano":"5000","status":{"code":2,"message":"boom"}}]}]}]}}`))
	}))
	defer srv.Close()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-jaeger", srv.URL, "bb"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "orders  POST /orders") || !strings.Contains(out.String(), "✗ boom") {
		t.Fatalf("output:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"-jaeger", srv.URL, "cc"}, nil, &out); err == nil {
		t.Fatal("missing trace gave no error")
	}
}

func TestNoSpans(t *testing.T) {
	if err := run(context.Background(), nil, strings.NewReader("hello\n"), &bytes.Buffer{}); err == nil {
		t.Fatal("no error for input without spans")
	}
}
