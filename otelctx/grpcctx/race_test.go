//go:build race

package grpcctx_test

// raceEnabled: the race detector changes allocation counts, so allocation guards skip under it.
const raceEnabled = true
