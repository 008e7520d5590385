//go:build !race

package ctxtrail

const raceEnabled = false
