package otelconfig

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.opentelemetry.io/contrib/otelconf"
	yaml "go.yaml.in/yaml/v3"
)

// Key is one key of the file that ctxtrail did not apply, with the line it is on.
type Key struct {
	Path string // such as tracer_provider.processors[0].batch.exporter.zipkin
	Line int
	// Warning is true where the specification asks for tolerance (a /development feature,
	// another language's or another library's instrumentation): Install reports it and carries
	// on. Otherwise Load fails.
	Warning bool
	Why     string
}

func (k Key) String() string {
	level := "error"
	if k.Warning {
		level = "warning"
	}
	return fmt.Sprintf("line %d: %s: %s: %s", k.Line, level, k.Path, k.Why)
}

// tracker records the keys the mapping applied, by path, so that the walk over the file can
// name every other one.
type tracker struct {
	used map[string]bool
	tree map[string]bool // applied with everything under them
}

func newTracker() *tracker { return &tracker{used: map[string]bool{}, tree: map[string]bool{}} }

// use marks paths as applied.
func (t *tracker) use(paths ...string) {
	for _, p := range paths {
		t.used[p] = true
	}
}

// useTree marks path and everything under it as applied.
func (t *tracker) useTree(path string) { t.used[path], t.tree[path] = true, true }

// unused walks the file's mapping and returns every key the mapping did not apply, in file order.
func (t *tracker) unused(doc *yaml.Node) []Key {
	var out []Key
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				switch {
				case t.tree[p]:
				case !t.used[p] && isNull(v) && knownKey(p):
					// An empty value, usually a ${VAR} the environment does not set: the
					// schema's default, which is what ctxtrail uses too.
				case !t.used[p] && isNull(v):
					out = append(out, Key{Path: p, Line: k.Line, Warning: true,
						Why: "not in the configuration schema ctxtrail knows (otelconf v0.27.0's model); its value is empty, so nothing is lost"})
				case !t.used[p]:
					out = append(out, classify(p, k.Line))
				default:
					walk(v, p)
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	walk(doc, "")
	return out
}

// classify says why a key was not applied, and whether the specification tolerates that.
func classify(path string, line int) Key {
	k := Key{Path: path, Line: line}
	for _, inst := range []string{"instrumentation/development.", "instrumentation."} {
		rest, ok := strings.CutPrefix(path, inst)
		if !ok {
			continue
		}
		k.Warning = true
		lang, lib, _ := strings.Cut(rest, ".")
		switch {
		case lang == "general":
			k.Why = "general semantic-convention settings, which ctxtrail's instrumentation does not read"
		case lang == "go" && lib != "":
			k.Why = "configures another Go instrumentation library, which reads it itself; ctxtrail reads only go.ctxtrail"
		case lang == "go":
			k.Why = "ctxtrail reads only go.ctxtrail here"
		default:
			k.Why = "configures another language's instrumentation; ctxtrail is Go's"
		}
		return k
	}
	switch {
	case path == "log_level":
		k.Warning = true
		k.Why = "the Go SDK has no log level: its errors go where ctxtrail.WithErrorHandler says"
	case strings.Contains(path, "/development"):
		k.Warning = true
		k.Why = "a /development feature ctxtrail does not apply; it is ignored, as the specification allows"
	case knownKey(path):
		k.Why = "in the configuration schema, but ctxtrail does not apply it; remove it (see otelconfig's package documentation for what is supported)"
	default:
		k.Why = "not in the configuration schema (otelconf v0.27.0's model) nor ctxtrail's: a typo, or a key of another schema version"
	}
	return k
}

// knownKey reports whether path names a property of the stable configuration model.
func knownKey(path string) bool {
	t := reflect.TypeFor[otelconf.OpenTelemetryConfiguration]()
	for _, seg := range strings.Split(path, ".") {
		name, _, indexed := strings.Cut(seg, "[")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByYAML(t, name)
			if !ok {
				return false
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		case reflect.Interface:
			return true
		default:
			return false
		}
		if indexed {
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Kind() != reflect.Slice {
				return false
			}
			t = t.Elem()
		}
	}
	return true
}

func fieldByYAML(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// isNull reports whether n is an empty value: null, ~, or nothing at all.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!null" || n.Value == "" && n.Style == 0)
}
