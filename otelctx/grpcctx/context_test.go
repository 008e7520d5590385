package grpcctx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/zapbridge"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestHandlerContextWorksLikeHTTP: inside a gRPC handler, zapbridge lines carry the same keys,
// with the RPC's IDs, as inside an HTTP handler, and spans.Run and spans.Go start children of
// the server span, unchanged.
func TestHandlerContextWorksLikeHTTP(t *testing.T) {
	obs, logs := observer.New(zapcore.InfoLevel)
	log := zapbridge.New(zap.New(obs))
	var runErr, goErr error
	r := startRig(t, nil, nil)
	r.svc.hook = func(ctx context.Context) {
		log.Ctx(ctx).Info("in handler")
		runErr = spans.Run(ctx, "child run", func(ctx context.Context) error {
			log.Ctx(ctx).Info("in run")
			return nil
		})
		goErr = spans.Go(ctx, "child go", func(ctx context.Context) error {
			log.Ctx(ctx).Info("in go")
			return nil
		}).Wait()
	}
	ctx := otelctx.WithRequestID(context.Background(), "grpc-req-1")
	if _, err := r.client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
		t.Fatal(err)
	}
	got := r.call(t)
	if runErr != nil || goErr != nil {
		t.Fatal(runErr, goErr)
	}
	srv := ended(t, r.srvRec, "grpc.testing.TestService/EmptyCall")
	for _, name := range []string{"child run", "child go"} {
		c := ended(t, r.srvRec, name)
		if c.Parent().SpanID() != srv.SpanContext().SpanID() || c.SpanContext().TraceID() != srv.SpanContext().TraceID() {
			t.Errorf("%s is not a child of the server span", name)
		}
	}

	// The same line in an HTTP handler behind otelctx's middleware.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	hs := httptest.NewServer(httpctx.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Ctx(r.Context()).Info("in http handler")
	}), httpctx.WithTracerProvider(tp)))
	defer hs.Close()
	req, _ := http.NewRequest(http.MethodGet, hs.URL, nil)
	req.Header.Set("x-request-id", "http-req-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	lines := map[string]map[string]any{}
	for _, e := range logs.All() {
		lines[e.Message] = e.ContextMap()
	}
	for _, msg := range []string{"in handler", "in run", "in go"} {
		f := lines[msg]
		if f["trace_id"] != got.span.TraceID().String() || f["request_id"] != "grpc-req-1" {
			t.Errorf("%q: trace_id %v request_id %v, want %s grpc-req-1", msg, f["trace_id"], f["request_id"], got.span.TraceID())
		}
	}
	if f := lines["in handler"]; f["span_id"] != srv.SpanContext().SpanID().String() || f["rpc.method"] != "grpc.testing.TestService/EmptyCall" {
		t.Errorf("gRPC line %v: want the server span's span_id and rpc.method", f)
	}
	h := lines["in http handler"]
	if h["request_id"] != "http-req-1" {
		t.Errorf("HTTP line %v", h)
	}
	for _, k := range []string{"trace_id", "span_id", "request_id"} {
		if _, ok := h[k]; !ok {
			t.Errorf("HTTP line lacks %s", k)
		}
		if _, ok := lines["in handler"][k]; !ok {
			t.Errorf("gRPC line lacks %s, which the HTTP line has", k)
		}
	}
}

// TestPanicBecomesInternal: trail's interceptor turns a panic into codes.Internal and a report
// carrying the RPC's IDs and fields, the span records it, and the server keeps serving.
func TestPanicBecomesInternal(t *testing.T) {
	r := startRig(t, nil, nil)
	ctx := otelctx.WithRequestID(context.Background(), "req-panic")
	_, err := r.client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
	if st, _ := status.FromError(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("call: %v, want Internal \"internal error\"", err)
	}
	got := r.call(t)
	reps := r.reports.Reports()
	if len(reps) != 1 {
		t.Fatalf("%d reports, want 1", len(reps))
	}
	rep := reps[0]
	if !rep.Panic || rep.RequestID != "req-panic" || rep.TraceID != got.span.TraceID().String() {
		t.Errorf("report: panic %v request %q trace %s", rep.Panic, rep.RequestID, rep.TraceID)
	}
	fields := map[string]string{}
	for _, kv := range rep.Context {
		fields[string(kv.Key)] = kv.Value.Emit()
	}
	if fields["rpc.method"] != "grpc.testing.TestService/UnaryCall" {
		t.Errorf("report context %v, want rpc.method", fields)
	}
	srv := ended(t, r.srvRec, "grpc.testing.TestService/UnaryCall")
	if srv.Status().Code != otelcodes.Error {
		t.Error("server span not marked as an error")
	}
	if c, _ := attrOf(srv, "rpc.response.status_code"); c != "INTERNAL" {
		t.Errorf("rpc.response.status_code %s, want INTERNAL", c)
	}
	exc := false
	for _, e := range srv.Events() {
		exc = exc || e.Name == "exception"
	}
	if !exc {
		t.Error("no exception event on the server span")
	}
	if _, err := r.client.EmptyCall(context.Background(), &testpb.Empty{}); err != nil {
		t.Fatalf("server after the panic: %v", err)
	}
	r.call(t)
}

// TestStreamPanicBecomesInternal: a panic in a bidi handler ends the stream with Internal, a
// report, and a server span marked as an error; the stream's context carried the trail.
func TestStreamPanicBecomesInternal(t *testing.T) {
	r := startRig(t, nil, nil)
	st, err := r.client.FullDuplexCall(otelctx.WithRequestID(context.Background(), "req-stream"))
	if err != nil {
		t.Fatal(err)
	}
	r.call(t)
	if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("panic")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("Recv: %v, want Internal", err)
	}
	reps := r.reports.Reports()
	if len(reps) != 1 || !reps[0].Panic || reps[0].RequestID != "req-stream" {
		t.Fatalf("reports %+v, want one panic report for req-stream", reps)
	}
	srv := ended(t, r.srvRec, "grpc.testing.TestService/FullDuplexCall")
	if c, _ := attrOf(srv, "rpc.response.status_code"); c != "INTERNAL" || srv.Status().Code != otelcodes.Error {
		t.Errorf("server span: code %s status %v", c, srv.Status().Code)
	}
}
