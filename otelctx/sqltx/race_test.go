//go:build race

package sqltx_test

// raceEnabled: the race detector changes allocation counts, so allocation tests skip under it.
const raceEnabled = true
