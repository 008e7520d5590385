//go:build !race

package attrbuf

const raceEnabled = false
