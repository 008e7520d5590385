package ctxtrail

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/ctxtrail/ctxtrail/internal/configfile"
	"go.opentelemetry.io/otel/propagation"
)

// fileConfig is the configuration file's part of config: otelconfig's Source, and the file
// once Install has applied it.
type fileConfig struct {
	source *configfile.Source
	loaded *configfile.Loaded
}

// WithConfigFile is the seam module otelconfig plugs into: call otelconfig.Enable (or
// otelconfig.File, otelconfig.Bytes, or a Config's Option) instead. Its argument's type is
// internal to ctxtrail, so no other package can make one.
func WithConfigFile(src configfile.Source) Option {
	return optionFunc(func(c config) config {
		c.file.source = &src
		return c
	})
}

// fromFile reports whether Install applies a configuration file, in which case it reads none of
// the OTEL_* variables the file replaces.
func (c config) fromFile() bool { return c.file.loaded != nil }

// applyConfigFile reads the configuration file that OTEL_CONFIG_FILE names, or the one given in
// code, and returns the configuration with the file's settings under opts (the service's
// options still win). Without otelconfig's option, OTEL_CONFIG_FILE is an error: a file that
// nobody reads must not pass for one that configures the service. warn reports, once, every
// OTEL_* variable the file makes Install ignore, and the file's own warnings.
func applyConfigFile(cfg config, opts []Option, warn func(error)) (config, error) {
	path := getenv("OTEL_CONFIG_FILE")
	src := cfg.file.source
	if src == nil {
		if path != "" {
			return cfg, configErr("OTEL_CONFIG_FILE=%q: this program does not read configuration files; "+
				"add otelconfig.Enable() to Install's options (import github.com/ctxtrail/ctxtrail/otelconfig), "+
				"or unset OTEL_CONFIG_FILE to configure through the other OTEL_* variables", path)
		}
		return cfg, nil
	}
	name := src.Name
	switch {
	case name != "" && path != "" && path != name:
		warn(fmt.Errorf("%w: OTEL_CONFIG_FILE=%q is not read: Install was given the configuration %s in code, which wins",
			ErrEnvIgnored, path, name))
	case name == "" && path == "":
		return cfg, nil // otelconfig.Enable() and no file: the OTEL_* variables configure Install
	case name == "":
		name = path
	}
	if src.Load == nil {
		return cfg, configErr("configuration %s: ctxtrail.WithConfigFile was given no loader; use otelconfig.Enable()", name)
	}
	loaded, err := src.Load(name)
	if err != nil {
		return cfg, err
	}
	cfg.file.loaded = loaded // from here on, a failed Install stops what the file made (Install's undo)
	fileOpts := make([]Option, 0, len(loaded.Options)+len(opts))
	for _, o := range loaded.Options {
		switch o := o.(type) {
		case Option:
			fileOpts = append(fileOpts, o)
		case configfile.Named:
			fileOpts = append(fileOpts, withNamed(o))
		default:
			return cfg, configErr("configuration %s: otelconfig handed Install a %T, not a ctxtrail.Option", loaded.Name, o)
		}
	}
	cfg = routeErrors(newConfig(append(fileOpts, opts...)))
	cfg.file.loaded = loaded
	if r := loaded.RemoteSampler; r != nil && cfg.sampler == nil {
		if cfg.remoteSampler == nil {
			return cfg, configErr("configuration %s: the jaeger_remote/development sampler is not compiled into "+
				"this program; add jaegerremote.Enable() to Install's options beside otelconfig's "+
				"(import github.com/ctxtrail/ctxtrail/jaegerremote)", loaded.Name)
		}
		cfg.sampler = &remoteSamplerPlan{parentBased: r.ParentBased, endpoint: r.Endpoint, interval: r.PollingInterval, initial: r.InitialSamplingRate}
	}
	if len(cfg.propagators) == 0 { // WithPropagation wins over the file
		p, err := propagatorsFromNames(loaded.Propagators, "configuration "+loaded.Name+": propagator")
		if err != nil {
			return cfg, err
		}
		cfg.propagators = []propagation.TextMapPropagator{p}
	}
	for _, w := range loaded.Warnings {
		warn(w)
	}
	warnReplacedEnv(os.Environ(), loaded, warn)
	return cfg, nil
}

// warnReplacedEnv reports, in one warning, the OTEL_* variables of environ (os.Environ's form)
// that are set while a configuration file is in use: the specification has the file replace
// them, except those the file names in a ${...} substitution. OTEL_RESOURCE_ATTRIBUTES and
// OTEL_SERVICE_NAME are named apart: the Go SDK's providers merge them under every resource
// (WithResource in sdk/trace, sdk/log and sdk/metric v1.47.0), so what the file does not set
// still comes from them.
func warnReplacedEnv(environ []string, loaded *configfile.Loaded, warn func(error)) {
	var ignored, merged []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "OTEL_") || k == "OTEL_CONFIG_FILE" || strings.TrimSpace(v) == "" ||
			slices.Contains(loaded.Env, k) {
			continue
		}
		if k == "OTEL_RESOURCE_ATTRIBUTES" || k == "OTEL_SERVICE_NAME" {
			merged = append(merged, k)
			continue
		}
		ignored = append(ignored, k)
	}
	if len(ignored)+len(merged) == 0 {
		return
	}
	verb := func(names []string) string {
		slices.Sort(names)
		names = slices.Compact(names)
		if len(names) == 1 {
			return names[0] + " is"
		}
		return strings.Join(names, ", ") + " are"
	}
	var msg []string
	if len(ignored) > 0 {
		msg = append(msg, verb(ignored)+" ignored, as the configuration specification asks (name a variable "+
			"in the file as ${VAR} to use it)")
	}
	if len(merged) > 0 {
		msg = append(msg, verb(merged)+" still merged under the file's resource by the OpenTelemetry Go SDK's "+
			"providers: the file's attributes win, and those it does not set come from the variable")
	}
	warn(envIgnored{fmt.Errorf("%w: the configuration file %s is in use, so %s",
		ErrEnvIgnored, loaded.Name, strings.Join(msg, "; "))})
}
