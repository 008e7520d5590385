//go:build !race

package spanids

const raceEnabled = false
