package wire

import "go.opentelemetry.io/otel/propagation"

// Fused marks propagators.New's composite, whose extraction Server.Extract does itself in one
// pass (extractTrace). Only a type that embeds it has the method, and only ctxtrail's packages
// can name it.
type Fused struct{}

func (Fused) fusedComposite() {}

// IsFused reports whether p is propagators.New's composite (it embeds Fused): Server.Extract
// reads its headers in one pass of its own, and the gRPC client handler writes them in one.
func IsFused(p propagation.TextMapPropagator) bool {
	_, ok := p.(interface{ fusedComposite() })
	return ok
}
