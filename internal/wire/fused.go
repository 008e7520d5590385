package wire

import (
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// IsFused reports whether p is propagators.New's composite, whose headers the gRPC client
// handler writes in one pass of its own with the composite's result.
func IsFused(p propagation.TextMapPropagator) bool {
	_, ok := p.(interface{ fusedComposite() })
	return ok
}

// PutTraceparent encodes sc as a version 00 traceparent, keeping only the sampled and random
// flags, exactly as propagation.TraceContext does.
func PutTraceparent(b *[55]byte, sc trace.SpanContext) {
	tid, sid := sc.TraceID(), sc.SpanID()
	b[0], b[1], b[2], b[35], b[52] = '0', '0', '-', '-', '-'
	EncodeHex(b[3:35], tid[:])
	EncodeHex(b[36:52], sid[:])
	flags := byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))
	b[53], b[54] = HexDigits[flags>>4], HexDigits[flags&0xf]
}
