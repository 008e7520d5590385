package otelconfig

import (
	"fmt"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans/keep"
)

// keepNode is the in-process capture (ctxtrail.WithKeepErrorsAndSlow, package spans/keep): on
// once the section is there. It is an Install setting, so Enable, File and Bytes apply it too.
type keepNode struct {
	Enabled *onOff `yaml:"enabled"` // default true once the section is there
	// SlowThreshold is keep.WithSlowThreshold: milliseconds or a Go duration; 0 keeps no trace
	// for being slow; absent, keep.DefaultSlowThreshold.
	SlowThreshold        *duration `yaml:"slow_threshold"`
	MaxSpansPerTrace     int       `yaml:"max_spans_per_trace"`     // keep.WithMaxSpansPerTrace
	MaxAttributesPerSpan int       `yaml:"max_attributes_per_span"` // keep.WithMaxAttributesPerSpan
	MaxEventsPerSpan     int       `yaml:"max_events_per_span"`     // keep.WithMaxEventsPerSpan
	MaxBytes             int64     `yaml:"max_bytes"`               // keep.WithMaxBytes
	MaxTraces            int       `yaml:"max_traces"`              // keep.WithMaxTraces
}

func (n node) checkKeep(name string) []error {
	k := n.Keep
	if k == nil {
		return nil
	}
	return negatives(name, "keep", map[string]int64{"max_spans_per_trace": int64(k.MaxSpansPerTrace),
		"max_attributes_per_span": int64(k.MaxAttributesPerSpan), "max_events_per_span": int64(k.MaxEventsPerSpan),
		"max_bytes": k.MaxBytes, "max_traces": int64(k.MaxTraces)})
}

// keepOn reports whether the file turns the capture on.
func (n node) keepOn() bool { return n.Keep != nil && (n.Keep.Enabled == nil || bool(*n.Keep.Enabled)) }

// keepOption is Install's option for the capture. The file decides it whole: with no keep
// section (or enabled: false) the capture is off whatever CTXTRAIL_KEEP says, and the slow
// threshold is always given, so that CTXTRAIL_KEEP_SLOW is not read either; a file names
// them as ${VAR} to let them count. The service's own WithKeepErrorsAndSlow still wins.
func (n node) keepOption() (ctxtrail.Option, string) {
	if !n.keepOn() {
		why := "off (no keep section)"
		if n.Keep != nil {
			why = "off (enabled: false)"
		}
		return ctxtrail.WithoutKeepErrorsAndSlow(), why
	}
	k := n.Keep
	slow := k.SlowThreshold.get(keep.DefaultSlowThreshold)
	opts := []keep.Option{keep.WithSlowThreshold(slow)}
	caps := [...]struct {
		v   int64
		opt func(int64) keep.Option
	}{
		{int64(k.MaxSpansPerTrace), func(v int64) keep.Option { return keep.WithMaxSpansPerTrace(int(v)) }},
		{int64(k.MaxAttributesPerSpan), func(v int64) keep.Option { return keep.WithMaxAttributesPerSpan(int(v)) }},
		{int64(k.MaxEventsPerSpan), func(v int64) keep.Option { return keep.WithMaxEventsPerSpan(int(v)) }},
		{k.MaxBytes, keep.WithMaxBytes},
		{int64(k.MaxTraces), func(v int64) keep.Option { return keep.WithMaxTraces(int(v)) }},
	}
	for _, c := range caps {
		if c.v > 0 {
			opts = append(opts, c.opt(c.v))
		}
	}
	slowSay := slow.String()
	if slow == 0 {
		slowSay = "0 (no trace kept for being slow)"
	}
	return ctxtrail.WithKeepErrorsAndSlow(opts...), fmt.Sprintf("errors and slow traces kept whole: slow_threshold=%s "+
		"max_spans_per_trace=%d max_attributes_per_span=%d max_events_per_span=%d max_bytes=%d max_traces=%d (0: the defaults)",
		slowSay, k.MaxSpansPerTrace, k.MaxAttributesPerSpan, k.MaxEventsPerSpan, k.MaxBytes, k.MaxTraces)
}
