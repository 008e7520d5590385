package evidence

import (
	"errors"
	"testing"
	"time"
)

// TestEnvArms: CTXTRAIL_EVIDENCE arms what the options leave alone, CTXTRAIL_EVIDENCE_SLOW sets
// the threshold, options win, and a bad value is an ErrConfig naming the variable.
func TestEnvArms(t *testing.T) {
	env := func(kv map[string]string) Option {
		return withGetenv(func(k string) string { return kv[k] })
	}
	tests := []struct {
		name                      string
		opts                      []Option
		labels, leftBehind, fligh bool
		slow                      time.Duration
		bad                       bool
	}{
		{"nothing by default", []Option{env(nil)}, false, false, false, DefaultSlow, false},
		{"labels", []Option{env(map[string]string{envArm: "labels"})}, true, false, false, DefaultSlow, false},
		{"leftbehind implies labels", []Option{env(map[string]string{envArm: "leftbehind"})}, true, true, false, DefaultSlow, false},
		{"all with a threshold", []Option{env(map[string]string{envArm: "all", envSlow: "250ms"})}, true, true, true, 250 * time.Millisecond, false},
		{"an option wins", []Option{env(map[string]string{envArm: "all"}), WithoutProfileLabels()}, false, false, true, DefaultSlow, false},
		{"the option's threshold wins", []Option{env(map[string]string{envSlow: "250ms"}), WithFlightRecorder(2 * time.Second)}, false, false, true, 2 * time.Second, false},
		{"bad part", []Option{env(map[string]string{envArm: "labels,cpu"})}, false, false, false, 0, true},
		{"bad threshold", []Option{env(map[string]string{envSlow: "fast"})}, false, false, false, 0, true},
		{"bad budget", []Option{env(nil), WithCaptureBudget(0, 1)}, false, false, false, 0, true},
		{"bad hold", []Option{env(nil), WithSpanHold(-1, time.Second)}, false, false, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newConfig(tt.opts)
			if tt.bad {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err %v, want ErrConfig", err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.labels != tt.labels || c.leftBehind != tt.leftBehind || c.flight != tt.fligh || c.slow != tt.slow {
				t.Errorf("labels %v leftBehind %v flight %v slow %v", c.labels, c.leftBehind, c.flight, c.slow)
			}
			if c.holdMax != DefaultHoldSpans || c.holdWait != DefaultHoldWait {
				t.Errorf("hold %d, %v, want the defaults", c.holdMax, c.holdWait)
			}
		})
	}
}
