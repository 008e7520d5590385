//go:build race

// Package race tells tests whether the binary was built with the race detector, which changes
// allocation counts: allocation guards skip under it (CI runs them in a pass without -race).
package race

// Enabled reports whether the race detector is on.
const Enabled = true
