package evidence

import "testing"

// TestWithoutEnv: the options alone arm the Recorder, whatever CTXTRAIL_EVIDENCE says.
func TestWithoutEnv(t *testing.T) {
	t.Setenv(envArm, "all")
	t.Setenv(envSlow, "not a duration")
	r, err := New(WithoutEnv(), WithProfileLabels())
	if err != nil {
		t.Fatalf("New read CTXTRAIL_EVIDENCE_SLOW: %v", err)
	}
	defer r.Shutdown(t.Context())
	if labels, left, flight := r.Armed(); !labels || left || flight {
		t.Errorf("armed labels=%v left_behind=%v flight=%v; want the labels only", labels, left, flight)
	}
}
