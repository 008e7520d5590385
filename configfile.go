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
	fileOpts := make([]Option, 0, len(loaded.Options)+len(opts))
	for _, o := range loaded.Options {
		opt, ok := o.(Option)
		if !ok {
			return cfg, configErr("configuration %s: otelconfig handed Install a %T, not a ctxtrail.Option", loaded.Name, o)
		}
		fileOpts = append(fileOpts, opt)
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
// them, except those the file names in a ${...} substitution.
func warnReplacedEnv(environ []string, loaded *configfile.Loaded, warn func(error)) {
	var ignored []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "OTEL_") || k == "OTEL_CONFIG_FILE" || strings.TrimSpace(v) == "" ||
			slices.Contains(loaded.Env, k) {
			continue
		}
		ignored = append(ignored, k)
	}
	if len(ignored) == 0 {
		return
	}
	slices.Sort(ignored)
	ignored = slices.Compact(ignored)
	warn(envIgnored{fmt.Errorf("%w: the configuration file %s is in use, so %s %s ignored, as the "+
		"configuration specification asks (name a variable in the file as ${VAR} to use it)",
		ErrEnvIgnored, loaded.Name, strings.Join(ignored, ", "), map[bool]string{true: "is", false: "are"}[len(ignored) == 1])})
}
