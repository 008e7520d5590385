//go:build race

package dbtest

// raceEnabled: the race detector changes allocation counts, so allocation tests skip under it.
const raceEnabled = true
