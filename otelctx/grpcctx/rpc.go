package grpcctx

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// Attribute keys of the RPC semantic conventions of semconv v1.43.0, the version ctxtrail's HTTP
// spans follow and otelgrpc (v0.72) records by default: rpc.system.name "grpc", rpc.method the
// fully-qualified "package.Service/Method", rpc.response.status_code the status code's
// canonical name ("OK", "NOT_FOUND", ...).
const (
	RPCSystemNameKey         = semconv.RPCSystemNameKey
	RPCMethodKey             = semconv.RPCMethodKey
	RPCResponseStatusCodeKey = semconv.RPCResponseStatusCodeKey
)

var systemGRPC = semconv.RPCSystemNameGRPC

// maxMethodLen bounds the method name taken from the wire (a server's :path is whatever the
// client sent): longer names are cut, so an attacker cannot make huge span names.
const maxMethodLen = 256

// splitMethod turns "/package.Service/Method" into the span name "package.Service/Method" and
// its service and method, bounded and valid UTF-8.
func splitMethod(full string) (name, service, method string) {
	name = strings.TrimPrefix(full, "/")
	if len(name) > maxMethodLen {
		name = name[:maxMethodLen]
	}
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "\uFFFD")
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name, name[:i], name[i+1:]
	}
	return name, "", name
}

// method is what a handler derives from a full method name once: the span name, the span's
// start options and the request-store fields.
type method struct {
	name string
	opts []trace.SpanStartOption // kind and attributes; shared, never appended to in place
	rpc  attribute.KeyValue      // rpc.method
	set  *reqstore.Set           // rpc.method, the server's request store when nothing came before
	rec  recOptions              // the duration's measurement options per status code
}

// maxMethods bounds each handler's cache of methods: method names come from the wire, so past
// it (a client probing unknown methods) each RPC derives its own.
const maxMethods = 1024

// methodCache remembers the methods a handler has seen, so an RPC to a known method allocates
// neither its attributes nor its start options.
type methodCache struct {
	kind trace.SpanStartOption
	m    sync.Map // full method name → *method
	n    atomic.Int32
}

func newMethodCache(kind trace.SpanKind) *methodCache {
	return &methodCache{kind: trace.WithSpanKind(kind)}
}

func (c *methodCache) get(full string) *method {
	if m, ok := c.m.Load(full); ok {
		return m.(*method)
	}
	name, _, _ := splitMethod(full)
	m := &method{name: name, rpc: RPCMethodKey.String(name)}
	m.opts = []trace.SpanStartOption{c.kind, trace.WithAttributes(systemGRPC, m.rpc)}
	m.set = reqstore.FieldsOf(reqstore.Add(context.Background(), nil, []attribute.KeyValue{m.rpc}))
	if c.n.Load() < maxMethods {
		if _, loaded := c.m.LoadOrStore(full, m); !loaded {
			c.n.Add(1)
		}
	}
	return m
}

// statusNames are the canonical names of the status codes gRPC defines, as
// rpc.response.status_code records them.
var statusNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// statusAttrs holds rpc.response.status_code for each code gRPC defines.
var statusAttrs = func() (a [len(statusNames)][1]attribute.KeyValue) {
	for i := range a {
		a[i][0] = RPCResponseStatusCodeKey.String(statusNames[i])
	}
	return a
}()

// statusAttr returns rpc.response.status_code for code: a code gRPC does not define (a peer
// can send any number) is "CODE(n)", as otelgrpc records it.
func statusAttr(code codes.Code) attribute.KeyValue {
	if int(code) < len(statusAttrs) {
		return statusAttrs[code][0]
	}
	return RPCResponseStatusCodeKey.String("CODE(" + strconv.FormatUint(uint64(code), 10) + ")")
}

// statusOf returns the gRPC status of a finished RPC: OK for nil, Canceled and
// DeadlineExceeded for the context errors, Unknown for an error without a status.
func statusOf(err error) *status.Status {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok {
		return s
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err)
	}
	return status.New(codes.Unknown, err.Error())
}

// serverError reports whether a server span ends with error status: the RPC conventions count
// only the codes that mean the server failed, not the caller's mistakes (InvalidArgument,
// NotFound, ...) nor the caller's cancellation.
func serverError(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal,
		codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// endSpan records the RPC's status on span and ends it, and returns the code. The client marks
// every code but OK as an error; the server only the codes serverError lists.
func endSpan(span trace.Span, e *stats.End) codes.Code {
	st := statusOf(e.Error)
	code := st.Code() // a nil *Status is OK
	if int(code) < len(statusAttrs) {
		span.SetAttributes(statusAttrs[code][:]...) // no slice to allocate
	} else {
		span.SetAttributes(statusAttr(code))
	}
	if code != codes.OK && (e.Client || serverError(code)) {
		setErrorStatus(span, boundedMessage(st.Message()))
	}
	span.End()
	return code
}

// setErrorStatus marks span as failed unless it already is: a panic report or an error
// captured inside the handler said more than the status does.
func setErrorStatus(span trace.Span, description string) {
	if ro, ok := span.(interface{ Status() sdktrace.Status }); ok && ro.Status().Code == otelcodes.Error {
		return
	}
	span.SetStatus(otelcodes.Error, description)
}

// boundedMessage keeps a status message (which the peer chose) short and valid UTF-8.
func boundedMessage(s string) string {
	const maxLen = 1024
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// messages numbers the messages of one RPC for WithMessageEvents.
type messages struct{ sent, received atomic.Int64 }

// rpcKey holds what HandleRPC needs of an RPC beyond its span, one context entry for both:
// the *method for the duration metric, or with WithMessageEvents an *rpcState. Without either,
// nothing is stored.
type rpcKey struct{}

type rpcState struct {
	m    *method
	msgs messages
}

// withRPC remembers the RPC's method (for recordDuration) and message counters (for
// messageEvent) in ctx, when the handler needs them.
func (h *rpcHandler) withRPC(ctx context.Context, m *method) context.Context {
	switch h.rpcFor {
	case rpcEvents:
		return context.WithValue(ctx, rpcKey{}, &rpcState{m: m})
	case rpcMethod:
		return context.WithValue(ctx, rpcKey{}, m)
	}
	return ctx
}

// What a handler keeps for rpcKey, decided once when it is made: nothing, the *method (for
// the duration metric) or an *rpcState (with WithMessageEvents).
const (
	rpcNone = iota
	rpcMethod
	rpcEvents
)

// rpcOf returns what withRPC stored.
func rpcOf(ctx context.Context) (*method, *messages) {
	switch v := ctx.Value(rpcKey{}).(type) {
	case *method:
		return v, nil
	case *rpcState:
		return v.m, &v.msgs
	}
	return nil, nil
}

var (
	msgSent     = attribute.String("rpc.message.type", "SENT")
	msgReceived = attribute.String("rpc.message.type", "RECEIVED")
)

// messageEvent records one message on the span in ctx.
func messageEvent(ctx context.Context, rs stats.RPCStats) {
	_, m := rpcOf(ctx)
	if m == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	switch rs := rs.(type) {
	case *stats.InPayload:
		span.AddEvent("message", trace.WithAttributes(msgReceived,
			attribute.Int64("rpc.message.id", m.received.Add(1)),
			attribute.Int("rpc.message.uncompressed_size", rs.Length)))
	case *stats.OutPayload:
		span.AddEvent("message", trace.WithAttributes(msgSent,
			attribute.Int64("rpc.message.id", m.sent.Add(1)),
			attribute.Int("rpc.message.uncompressed_size", rs.Length)))
	}
}

// rpcHandler is what the server and client handlers share: the end of the span, the message
// events, and no interest in connections.
type rpcHandler struct {
	cfg      config
	tracer   trace.Tracer
	methods  *methodCache
	duration metric.Float64Histogram // nil without metrics
	rpcFor   int                     // rpcNone, rpcMethod or rpcEvents
}

func newRPCHandler(c config, kind trace.SpanKind) rpcHandler {
	h := rpcHandler{cfg: c, tracer: c.tp.Tracer(ScopeName), methods: newMethodCache(kind),
		duration: newDuration(c.mp, kind == trace.SpanKindServer)}
	switch {
	case c.messageEvents:
		h.rpcFor = rpcEvents
	case h.duration != nil:
		h.rpcFor = rpcMethod
	}
	return h
}

// HandleRPC ends the span with the RPC and records messages when asked to.
func (h *rpcHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	switch rs := rs.(type) {
	case *stats.End:
		code := endSpan(trace.SpanFromContext(ctx), rs)
		h.recordDuration(ctx, rs, code)
	case *stats.InPayload, *stats.OutPayload:
		if h.cfg.messageEvents {
			messageEvent(ctx, rs)
		}
	}
}

// TagConn returns ctx unchanged: connections get no span.
func (h *rpcHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn does nothing.
func (h *rpcHandler) HandleConn(context.Context, stats.ConnStats) {}
