// Package remotetest tests module otelconfig with module jaegerremote, which otelconfig must not
// require: a configuration file's jaeger_remote/development sampler runs through
// jaegerremote.Enable. It is a module of its own because a test in otelconfig would make
// otelconfig's go.mod require jaegerremote, and every service reading a file would then list the
// Jaeger sampler's modules (jaeger-idl, gogo protobuf) in go list -m all.
package remotetest
