//go:build !race

package slogbridge

const raceEnabled = false
