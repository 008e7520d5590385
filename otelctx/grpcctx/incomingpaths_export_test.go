package grpcctx

// CopyIncomingMetadata makes server handlers copy the keys they read out of the incoming
// metadata, as they do when grpc-go's context key for it is unknown, until restore is called.
// Tests that use it must not run in parallel with other servers.
func CopyIncomingMetadata() (restore func()) {
	key := incomingKey
	incomingKey = nil
	return func() { incomingKey = key }
}
