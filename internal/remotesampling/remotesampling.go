// Package remotesampling is the seam between ctxtrail.Install, which reads
// OTEL_TRACES_SAMPLER=jaeger_remote (or parentbased_jaeger_remote) and its argument, and package
// jaegerremote, which polls Jaeger. Install holds a Start only when the service passes
// jaegerremote.Enable(), so a binary that does not ask for the remote sampler links no sampler
// client (contrib's jaegerremote, gogo/protobuf, jaeger-idl).
package remotesampling

import (
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Settings is what Install read from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, checked,
// and what it knows once it can no longer fail before the Provider exists.
type Settings struct {
	ParentBased         bool          // parentbased_jaeger_remote: a parent's decision wins
	Endpoint            string        // Jaeger's HTTP sampling endpoint, such as http://jaeger:5778/sampling
	PollingInterval     time.Duration // between polls
	InitialSamplingRate float64       // until the first answer
	ServiceName         string        // the service whose strategy is asked for
	// Warn reports a failed poll: WithErrorHandler's function, or otel.Handle. It is in place
	// before Start is called.
	Warn func(error)
}

// Start starts polling and returns the sampler to give the SDK and the function that stops the
// polling, which may be called more than once. It must not wait on the endpoint.
type Start func(Settings) (sampler sdktrace.Sampler, stop func())
