package otelconfig

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/spans"
)

// ownEnv are ctxtrail's own variables whose settings have a home in the node. With a file they
// are replaced as the OTEL_* variables are — the file is the one source, and a variable counts
// only where the file names it as ${VAR} — because the file's section, or its absence, decides
// the setting whole. service marks those read by what the service takes from its Config (the
// monitor, the evidence Recorder), which Enable, File and Bytes hand it no part of.
var ownEnv = []struct {
	name, key string
	service   bool
}{
	{ctxtrail.EnvKeep, "keep", false},
	{ctxtrail.EnvKeepSlow, "keep.slow_threshold", false},
	{spans.EnvJaegerUI, "monitor.jaeger_ui", true},
	{"CTXTRAIL_EVIDENCE", "evidence", true},                                     // read by evidence.New
	{"CTXTRAIL_EVIDENCE_SLOW", "evidence.flight_recorder.slow_threshold", true}, // read by evidence.New
}

// replacedEnv names ctxtrail's variables that are set but not read because the file is in use.
// alone is true under Enable, File and Bytes: the service makes its monitor and Recorder itself,
// so their variables still count.
func (c *Config) replacedEnv(alone bool) []string {
	var out []string
	for _, v := range ownEnv {
		if v.service && alone || slices.Contains(c.env, v.name) {
			continue
		}
		if v.name == spans.EnvJaegerUI && (c.node.Monitor == nil || !enabled(c.node.Monitor.Enabled)) {
			continue // no monitor from the file: the service's own reads it
		}
		if val, ok := environ(v.name); ok && strings.TrimSpace(val) != "" {
			out = append(out, fmt.Sprintf("%s (%s.%s)", v.name, nodePath, v.key))
		}
	}
	return out
}

// replacedEnvWarning is Install's warning naming replacedEnv's variables, or nil.
func (c *Config) replacedEnvWarning(alone bool) error {
	names := c.replacedEnv(alone)
	if len(names) == 0 {
		return nil
	}
	verb := "are"
	if len(names) == 1 {
		verb = "is"
	}
	return fmt.Errorf("%w: the configuration file %s is in use, so %s %s not read: the file's ctxtrail node decides "+
		"those settings, present or not (name a variable in the file as ${VAR} to use it)",
		ctxtrail.ErrEnvIgnored, c.name, strings.Join(names, ", "), verb)
}
