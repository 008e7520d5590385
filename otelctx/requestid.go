package otelctx

import "context"

var requestIDKey = NewKey[string]("ctxtrail.request_id")

// WithRequestID returns a copy of ctx that carries id as the request ID. The HTTP middleware
// sets it from a safe incoming x-request-id or a generated one; zapbridge writes it on every
// line and the client transport forwards it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return requestIDKey.With(ctx, id)
}

// RequestID returns the request ID carried by ctx, or "".
func RequestID(ctx context.Context) string {
	return requestIDKey.Value(ctx)
}
