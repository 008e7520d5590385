//go:build !race

package sqltx_test

const raceEnabled = false
