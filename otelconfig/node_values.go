package otelconfig

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// onOff is a switch that takes, beside YAML's true and false, the words of ctxtrail's own
// variables (on, off, none, errors-and-slow), so that a file can hand the choice to one of them:
// enabled: ${CTXTRAIL_KEEP:-off}.
type onOff bool

func (o *onOff) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(strings.TrimSpace(n.Value)) {
		case "true", "on", "errors-and-slow":
			*o = true
			return nil
		case "false", "off", "none":
			*o = false
			return nil
		}
	}
	return fmt.Errorf("line %d: enabled: %q: want true or false (or on, off, errors-and-slow)", n.Line, n.Value)
}

// duration is a time in milliseconds, as the schema writes durations (750), or a Go duration
// (750ms, 2s), as CTXTRAIL_KEEP_SLOW and CTXTRAIL_EVIDENCE_SLOW write them, so that a file can
// substitute either kind of variable.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v := strings.TrimSpace(n.Value)
		if i, err := strconv.ParseInt(v, 10, 64); err == nil && i >= 0 && i <= int64(24*time.Hour/time.Millisecond) {
			*d = duration(time.Duration(i) * time.Millisecond)
			return nil
		}
		if g, err := time.ParseDuration(v); err == nil && g >= 0 {
			*d = duration(g)
			return nil
		}
	}
	return fmt.Errorf("line %d: %q: want milliseconds (750) or a Go duration (750ms), not negative", n.Line, n.Value)
}

// get returns d, or def when d is absent.
func (d *duration) get(def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return time.Duration(*d)
}

// presentSections gives an empty value to the sections the file names with nothing after them
// (keep:, evidence:, monitor:), as the specification reads console: — the section with its
// defaults — where decoding alone would leave them nil, unapplied and unreported.
func (out *node) presentSections(n *yaml.Node) {
	if present(n, "monitor") && out.Monitor == nil {
		out.Monitor = &monitorNode{}
	}
	if present(n, "keep") && out.Keep == nil {
		out.Keep = &keepNode{}
	}
	if e := mapValue(n, "evidence"); e != nil {
		if out.Evidence == nil {
			out.Evidence = &evidenceNode{}
		}
		if present(e, "left_behind") && out.Evidence.LeftBehind == nil {
			out.Evidence.LeftBehind = &leftBehindNode{}
		}
		if present(e, "flight_recorder") && out.Evidence.FlightRecorder == nil {
			out.Evidence.FlightRecorder = &flightNode{}
		}
	}
}

func present(n *yaml.Node, key string) bool { return mapValue(n, key) != nil }
