package otelconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/configfile"
	"github.com/ctxtrail/ctxtrail/spans"
	"go.opentelemetry.io/contrib/otelconf"
	yaml "go.yaml.in/yaml/v3"
)

// maxFileBytes bounds the file read: a configuration is a few KiB.
const maxFileBytes = 4 << 20

// Config is one configuration file, parsed, checked and ready to apply: Option for Install,
// HTTPHandlerOptions and GRPCServerOptions for the servers, Monitor for the live page. Every key
// was either applied or reported (NotApplied); a key that is neither tolerated by the
// specification nor applied made Load fail.
type Config struct {
	name    string
	doc     *yaml.Node // substituted
	model   otelconf.OpenTelemetryConfiguration
	env     []string
	node    node
	monitor *spans.Monitor
	keys    []Key    // not applied
	summary []string // the effective configuration, one line per setting
}

// FromEnv loads the file OTEL_CONFIG_FILE names, or returns a nil Config (whose methods return
// no options) when the variable is unset or empty.
func FromEnv() (*Config, error) {
	path := strings.TrimSpace(os.Getenv("OTEL_CONFIG_FILE"))
	if path == "" {
		return nil, nil
	}
	return Load(path)
}

// Load reads and checks the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: configuration file: %w", ctxtrail.ErrConfig, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: configuration file %s: %w", ctxtrail.ErrConfig, path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%w: configuration file %s is larger than %d bytes", ctxtrail.ErrConfig, path, maxFileBytes)
	}
	return data, nil
}

// Parse checks the configuration in data; name says where it came from in messages. The
// environment-variable references in its values are substituted first, from the process's
// environment.
func Parse(name string, data []byte) (*Config, error) {
	c, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parse is Parse, returning beside the error the Config as far as it was read, for Check.
func parse(name string, data []byte) (*Config, error) {
	c := &Config{name: name}
	fail := func(format string, args ...any) (*Config, error) {
		return nil, fmt.Errorf("%w: configuration %s: "+format, append([]any{ctxtrail.ErrConfig, name}, args...)...)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fail("%v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return fail("want a YAML mapping with file_format and the providers")
	}
	env, err := substitute(&doc, environ)
	if err != nil {
		return fail("%v", err)
	}
	c.doc, c.env = &doc, env
	if err := doc.Decode(&c.model); err != nil {
		return fail("%v", err)
	}
	if err := checkFormat(c.model.FileFormat); err != nil {
		return fail("%v", err)
	}
	if c.node, err = decodeNode(name, findNode(&doc)); err != nil {
		return nil, fmt.Errorf("%w: configuration %w", ctxtrail.ErrConfig, err)
	}
	// A dry run of the mapping: every key applied or reported, every value checked, nothing
	// started.
	b := &builder{c: c, t: newTracker(), dry: true}
	_, err = b.build()
	c.summary = b.summary
	c.keys = b.t.unused(&doc)
	if err != nil {
		return c, err
	}
	var errs []error
	for _, k := range c.keys {
		if !k.Warning {
			errs = append(errs, fmt.Errorf("%w: configuration %s: %s", ctxtrail.ErrConfig, name, k))
		}
	}
	if len(errs) > 0 {
		return c, notAppliedError{errors.Join(errs...)}
	}
	c.monitor = c.node.newMonitor()
	return c, nil
}

// checkFormat accepts the file formats of schema 1.x (1.0, 1.1, 1.0-rc.2…).
func checkFormat(v string) error {
	major, _, _ := strings.Cut(v, ".")
	if major != "1" {
		return fmt.Errorf("file_format %q: ctxtrail reads schema 1.x (file_format: \"1.1\")", v)
	}
	return nil
}

// Option returns the Install option that applies the file: providers, processors, exporters,
// sampler, propagators, resource and limits, and the monitor of ctxtrail's node. Install then
// reads none of the OTEL_* variables the file replaces, and says so once. Install's other
// options still win over the file. A nil Config returns Enable().
func (c *Config) Option() ctxtrail.Option {
	if c == nil {
		return Enable()
	}
	return ctxtrail.WithConfigFile(configfile.Source{Name: c.name, Load: func(string) (*configfile.Loaded, error) {
		return c.loaded(false)
	}})
}

// NotApplied returns the keys of the file that ctxtrail tolerated without applying them (the
// specification's /development features, other languages' instrumentation), each with its line.
func (c *Config) NotApplied() []Key {
	if c == nil {
		return nil
	}
	return append([]Key(nil), c.keys...)
}

// Effective returns the configuration ctxtrail applies, one setting per line.
func (c *Config) Effective() []string {
	if c == nil {
		return nil
	}
	return append([]string(nil), c.summary...)
}

// Enable lets Install read the file OTEL_CONFIG_FILE names, when it is set; without it (or
// another option of this package), OTEL_CONFIG_FILE makes Install fail. A file whose ctxtrail
// node configures handlers or the monitor needs FromEnv instead, which hands those to the
// service: Install alone could apply them to nothing.
func Enable() ctxtrail.Option {
	return ctxtrail.WithConfigFile(configfile.Source{Load: loadAlone})
}

// File has Install apply the configuration file at path, winning over OTEL_CONFIG_FILE. Its
// errors are Install's. As with Enable, handler and monitor settings need Load instead.
func File(path string) ctxtrail.Option {
	return ctxtrail.WithConfigFile(configfile.Source{Name: path, Load: loadAlone}) // Install loads Name
}

// loadAlone loads the file at path for Install alone (Enable, File).
func loadAlone(path string) (*configfile.Loaded, error) {
	c, err := Load(path)
	if err != nil {
		return nil, err
	}
	return c.loadedAlone()
}

// Bytes has Install apply the configuration in data, named name in messages, winning over
// OTEL_CONFIG_FILE. As with Enable, handler and monitor settings need Parse instead.
func Bytes(name string, data []byte) ctxtrail.Option {
	data = bytes.Clone(data)
	return ctxtrail.WithConfigFile(configfile.Source{Name: name, Load: func(string) (*configfile.Loaded, error) {
		c, err := Parse(name, data)
		if err != nil {
			return nil, err
		}
		return c.loadedAlone()
	}})
}

// loadedAlone is loaded for a Config the service never sees: settings only the service can
// apply (to its handlers, its mux) are an error rather than a silent no-op.
func (c *Config) loadedAlone() (*configfile.Loaded, error) {
	n := c.node
	var unreachable []string
	if n.TrustBoundary != nil {
		unreachable = append(unreachable, "trust_boundary")
	}
	if n.HTTP != nil {
		unreachable = append(unreachable, "http")
	}
	if n.GRPC != nil {
		unreachable = append(unreachable, "grpc")
	}
	if n.Monitor != nil {
		unreachable = append(unreachable, "monitor")
	}
	if n.Evidence != nil {
		unreachable = append(unreachable, "evidence")
	}
	if len(unreachable) > 0 {
		return nil, fmt.Errorf("%w: configuration %s: %s.%s configure the service's handlers, which Install "+
			"cannot reach: load the file with otelconfig.FromEnv (or Load), pass conf.Option() to Install and "+
			"conf.HTTPHandlerOptions() to httpctx.NewHandler, serve conf.Monitor() and wrap the mux in conf.Evidence()'s Middleware",
			ctxtrail.ErrConfig, c.name, nodePath, strings.Join(unreachable, ", "))
	}
	return c.loaded(true)
}

// loaded builds what Install applies, exporters included: Install calls it once. alone is
// true when the service has no Config (Enable, File, Bytes).
func (c *Config) loaded(alone bool) (*configfile.Loaded, error) {
	b := &builder{c: c, t: newTracker(), ctx: context.Background()}
	out, err := b.build()
	if err == nil {
		if w := c.replacedEnvWarning(alone); w != nil {
			out.Warnings = append(out.Warnings, w)
		}
	}
	return out, err
}
