//go:build !race

package zapbridge

const raceEnabled = false
