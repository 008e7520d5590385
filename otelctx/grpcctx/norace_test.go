//go:build !race

package grpcctx_test

const raceEnabled = false
