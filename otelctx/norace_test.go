//go:build !race

package otelctx

const raceEnabled = false
