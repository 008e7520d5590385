//go:build race

package ctxtrail

// raceEnabled: the race detector changes allocation counts, so allocation tests skip under it.
const raceEnabled = true
