// Package jaegerremote lets a service sample as Jaeger tells it to: per service and per
// operation (span name), with rates that change without a redeploy. Pass Enable to
// ctxtrail.Install, then choose the sampler with the standard variables:
//
//	p, err := ctxtrail.Install(ctx, jaegerremote.Enable())
//
//	OTEL_TRACES_SAMPLER=parentbased_jaeger_remote
//	OTEL_TRACES_SAMPLER_ARG=endpoint=http://jaeger:5778/sampling,pollingIntervalMs=60000,initialSamplingRate=0.001
//
// # Why an option
//
// The sampler is go.opentelemetry.io/contrib/samplers/jaegerremote, which brings gogo/protobuf,
// gogo/googleapis and jaeger-idl: 2.1 MB of a stripped hello-world service
// (benchmarks/results/shape.md). A service that does not import this package does not link them; ctxtrail.Install reads OTEL_TRACES_SAMPLER_ARG either
// way, and for jaeger_remote or parentbased_jaeger_remote without Enable it fails with an error
// wrapping ctxtrail.ErrConfig that names the variable and this fix.
//
// # Behaviour
//
// Each key of OTEL_TRACES_SAMPLER_ARG is optional; the values above are the defaults. endpoint
// is Jaeger's HTTP sampling endpoint (Jaeger v2's remote_sampling extension on 5778; a URL
// without a path gets /sampling): the sampler speaks HTTP, not the specification's gRPC on 14250.
// A bad key or value is an ErrConfig error from Install naming it.
//
// The first poll runs in the background. Until it answers, and whenever Jaeger cannot be
// reached, the sampler keeps the last strategy it had (initialSamplingRate at first): start-up
// and requests never wait on Jaeger. A failing poll is reported at most once a minute through
// ctxtrail.WithErrorHandler's function, or otel.Handle without one. Provider.Shutdown stops the
// polling, cancelling a poll in flight. ctxtrail.WithSamplerWrapper wraps the remote sampler
// too, so a spans.Monitor counts what it drops.
package jaegerremote
