package grpcctx

import "google.golang.org/grpc/stats"

// ClientWritesFused reports whether the client handler h writes its headers in one pass
// (inject.go) rather than through its propagator's Inject.
func ClientWritesFused(h stats.Handler) bool { return h.(*clientHandler).cfg.fused }
