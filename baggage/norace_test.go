//go:build !race

package baggage

const raceEnabled = false
