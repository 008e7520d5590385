package otelconfig

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ctxtrail/ctxtrail/spans/evidence"
)

// evidenceNode arms the runtime evidence of package spans/evidence: a Recorder the service
// owns and places inside its handler, as it serves the monitor. Each part is off unless named.
type evidenceNode struct {
	Enabled        *bool           `yaml:"enabled"`        // default true once the section is there
	ProfileLabels  bool            `yaml:"profile_labels"` // evidence.WithProfileLabels
	LeftBehind     *leftBehindNode `yaml:"left_behind"`
	FlightRecorder *flightNode     `yaml:"flight_recorder"`
}

// leftBehindNode is evidence.WithLeftBehind (which arms the labels too) and
// WithLeftBehindIgnore.
type leftBehindNode struct {
	Enabled  *bool     `yaml:"enabled"`  // default true once the section is there
	Grace    *duration `yaml:"grace"`    // evidence.DefaultGrace when absent
	Interval *duration `yaml:"interval"` // evidence.DefaultCensusInterval when absent
	Ignore   []string  `yaml:"ignore"`   // start-function prefixes, beside evidence.DefaultIgnore
}

// flightNode is evidence.WithFlightRecorder with its thresholds, budget, directory and window.
type flightNode struct {
	Enabled         *bool               `yaml:"enabled"`          // default true once the section is there
	SlowThreshold   *duration           `yaml:"slow_threshold"`   // evidence.DefaultSlow when absent
	RouteThresholds map[string]duration `yaml:"route_thresholds"` // evidence.WithRouteThreshold, by route
	// WithCaptureBudget; one of the two alone keeps the other's default.
	CapturesPerMinute int    `yaml:"captures_per_minute"`
	MaxCaptureBytes   int64  `yaml:"max_capture_bytes"`
	CaptureDir        string `yaml:"capture_dir"` // evidence.WithCaptureDir
	// WithRecorderWindow; one of the two alone keeps the other's default.
	WindowMinAge   *duration `yaml:"window_min_age"`
	WindowMaxBytes int64     `yaml:"window_max_bytes"`
}

func (n node) checkEvidence(name string) []error {
	e := n.Evidence
	if e == nil {
		return nil
	}
	var errs []error
	if f := e.FlightRecorder; f != nil {
		for _, route := range slices.Sorted(maps.Keys(f.RouteThresholds)) {
			if f.RouteThresholds[route] == 0 {
				errs = append(errs, fmt.Errorf("%s: %s.evidence.flight_recorder.route_thresholds[%q]=0: want a threshold above 0",
					name, nodePath, route))
			}
		}
		errs = append(errs, negatives(name, "evidence.flight_recorder", map[string]int64{
			"captures_per_minute": int64(f.CapturesPerMinute), "max_capture_bytes": f.MaxCaptureBytes,
			"window_max_bytes": f.WindowMaxBytes})...)
		if f.WindowMinAge != nil && *f.WindowMinAge == 0 {
			errs = append(errs, fmt.Errorf("%s: %s.evidence.flight_recorder.window_min_age=0: want a positive age (absent keeps %v)",
				name, nodePath, evidence.DefaultRecorderMinAge))
		}
	}
	return errs
}

// evidenceOptions are the options New gets from the file: WithoutEnv first, since the file
// replaces CTXTRAIL_EVIDENCE and CTXTRAIL_EVIDENCE_SLOW; then what the section arms.
func (n node) evidenceOptions() []evidence.Option {
	opts := []evidence.Option{evidence.WithoutEnv()}
	e := n.Evidence
	if e == nil || !enabled(e.Enabled) {
		return opts
	}
	if e.ProfileLabels {
		opts = append(opts, evidence.WithProfileLabels())
	}
	if lb := e.LeftBehind; lb != nil && enabled(lb.Enabled) {
		opts = append(opts, evidence.WithLeftBehind(lb.Grace.get(0), lb.Interval.get(0)))
		if len(lb.Ignore) > 0 {
			opts = append(opts, evidence.WithLeftBehindIgnore(lb.Ignore...))
		}
	}
	if f := e.FlightRecorder; f != nil && enabled(f.Enabled) {
		opts = append(opts, evidence.WithFlightRecorder(f.SlowThreshold.get(0)))
		for _, route := range slices.Sorted(maps.Keys(f.RouteThresholds)) {
			opts = append(opts, evidence.WithRouteThreshold(route, time.Duration(f.RouteThresholds[route])))
		}
		if f.CapturesPerMinute > 0 || f.MaxCaptureBytes > 0 {
			perMin, maxBytes := f.CapturesPerMinute, f.MaxCaptureBytes
			if perMin == 0 {
				perMin = evidence.DefaultCapturesPerMin
			}
			if maxBytes == 0 {
				maxBytes = evidence.DefaultCaptureBytes
			}
			opts = append(opts, evidence.WithCaptureBudget(perMin, maxBytes))
		}
		if f.CaptureDir != "" {
			opts = append(opts, evidence.WithCaptureDir(f.CaptureDir))
		}
		if f.WindowMinAge != nil || f.WindowMaxBytes > 0 {
			maxBytes := uint64(evidence.DefaultRecorderMaxBytes)
			if f.WindowMaxBytes > 0 {
				maxBytes = uint64(f.WindowMaxBytes)
			}
			opts = append(opts, evidence.WithRecorderWindow(f.WindowMinAge.get(evidence.DefaultRecorderMinAge), maxBytes))
		}
	}
	return opts
}

// evidenceSummary is the evidence section's line of the effective configuration, or "".
func (n node) evidenceSummary() string {
	e := n.Evidence
	if e == nil {
		return ""
	}
	if !enabled(e.Enabled) {
		return "evidence off (enabled: false)"
	}
	s := fmt.Sprintf("evidence profile_labels=%v", e.ProfileLabels)
	if lb := e.LeftBehind; lb != nil && enabled(lb.Enabled) {
		s += fmt.Sprintf("; left_behind grace=%v interval=%v ignore=%v", lb.Grace.get(evidence.DefaultGrace),
			lb.Interval.get(evidence.DefaultCensusInterval), lb.Ignore)
	}
	if f := e.FlightRecorder; f != nil && enabled(f.Enabled) {
		routes := make([]string, 0, len(f.RouteThresholds))
		for _, r := range slices.Sorted(maps.Keys(f.RouteThresholds)) {
			routes = append(routes, fmt.Sprintf("%s=%v", r, time.Duration(f.RouteThresholds[r])))
		}
		s += fmt.Sprintf("; flight_recorder slow_threshold=%v route_thresholds=%v captures_per_minute=%d max_capture_bytes=%d "+
			"capture_dir=%q window_min_age=%v window_max_bytes=%d (0: the defaults)", f.SlowThreshold.get(evidence.DefaultSlow), routes,
			f.CapturesPerMinute, f.MaxCaptureBytes, f.CaptureDir, f.WindowMinAge.get(evidence.DefaultRecorderMinAge), f.WindowMaxBytes)
	}
	return s + " (served by conf.Evidence())"
}

// Evidence returns a new evidence.Recorder armed as the file's ctxtrail.evidence section says,
// opts applied after the file's (they win). Place its Middleware inside httpctx.NewHandler and
// call its Shutdown; serve its CapturesHandler if the flight recorder is armed. With a file,
// CTXTRAIL_EVIDENCE and CTXTRAIL_EVIDENCE_SLOW are not read (name them in the file as ${VAR}),
// and without an evidence section nothing is armed: the Middleware returns the handler it is
// given. A nil Config (no OTEL_CONFIG_FILE) returns evidence.New(opts...), which reads them.
func (c *Config) Evidence(opts ...evidence.Option) (*evidence.Recorder, error) {
	if c == nil {
		return evidence.New(opts...)
	}
	return evidence.New(append(c.node.evidenceOptions(), opts...)...)
}
