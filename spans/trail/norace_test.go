//go:build !race

package trail

const raceEnabled = false
