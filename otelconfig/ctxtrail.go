package otelconfig

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ctxtrail/ctxtrail/baggage"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/grpcctx"
	"github.com/ctxtrail/ctxtrail/otelctx/httpctx"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"github.com/ctxtrail/ctxtrail/spans"
	yaml "go.yaml.in/yaml/v3"
)

// nodePath is where ctxtrail's own settings live: the Go node of the specification's
// instrumentation section, whose entries are keyed by instrumentation library.
const nodePath = "instrumentation/development.go.ctxtrail"

// node is ctxtrail's section of the file. Its keys are decoded strictly: one ctxtrail does not
// know is an error with its line.
type node struct {
	TrustBoundary *trustBoundary `yaml:"trust_boundary"`
	Baggage       *baggageNode   `yaml:"baggage"`
	Monitor       *monitorNode   `yaml:"monitor"`
	Waterfall     *waterfallNode `yaml:"waterfall"`
	HTTP          *httpNode      `yaml:"http"`
	GRPC          *grpcNode      `yaml:"grpc"`
	Keep          *keepNode      `yaml:"keep"`     // node_keep.go
	Evidence      *evidenceNode  `yaml:"evidence"` // node_evidence.go
}

// trustBoundary makes every server handler a public endpoint (httpctx.WithTrustBoundary,
// grpcctx.WithTrustBoundary).
type trustBoundary struct {
	Enabled          *bool    `yaml:"enabled"`            // default true once the section is there
	AllowedBaggage   []string `yaml:"allowed_baggage"`    // members kept from outside
	TrustedRequestID bool     `yaml:"trusted_request_id"` // WithTrustedRequestID
}

// baggageNode is the baggage policy beyond the trust boundary's allowlist.
type baggageNode struct {
	SpanAttributes []string `yaml:"span_attributes"` // copied onto every span (baggage.NewSpanProcessor)
}

// monitorNode builds a spans.Monitor (its options are spans.With*).
type monitorNode struct {
	Enabled           *bool  `yaml:"enabled"` // default true once the section is there
	Path              string `yaml:"path"`    // where the service mounts the page; otelctx.MonitorPath by default
	MaxTracked        int    `yaml:"max_tracked"`
	MaxNames          int    `yaml:"max_names"`
	LeakThreshold     int    `yaml:"leak_threshold"`      // milliseconds
	LeakCheckInterval int    `yaml:"leak_check_interval"` // milliseconds
	// The latency table (spans/monitor_options.go): latency: false is spans.WithoutLatency.
	Latency     *bool `yaml:"latency"`
	MaxRoutes   int   `yaml:"max_routes"`
	RecentSpans int   `yaml:"recent_spans"`
	KeptTraces  int   `yaml:"kept_traces"`
	// JaegerUI is spans.WithJaegerUI's base URL. With a file, CTXTRAIL_JAEGER_UI_URL is not read:
	// jaeger_ui: ${CTXTRAIL_JAEGER_UI_URL} lets it count.
	JaegerUI string `yaml:"jaeger_ui"`
}

// waterfallNode configures the ctxtrail_waterfall span exporter's Printer (waterfall.With*).
type waterfallNode struct {
	BarWidth  int `yaml:"bar_width"`
	MaxTraces int `yaml:"max_traces"`
	MaxSpans  int `yaml:"max_spans"`
	MaxLines  int `yaml:"max_lines"`
	MaxAge    int `yaml:"max_age"` // milliseconds
	QueueSize int `yaml:"queue_size"`
}

type httpNode struct {
	BodySizeMetrics bool `yaml:"body_size_metrics"` // httpctx.WithBodySizeMetrics
}

type grpcNode struct {
	MessageEvents bool `yaml:"message_events"` // grpcctx.WithMessageEvents
	XTraceHeaders bool `yaml:"xtrace_headers"` // grpcctx.WithXTraceHeaders
}

// findNode returns ctxtrail's node in the file, or nil.
func findNode(doc *yaml.Node) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range []string{"instrumentation/development", "go", "ctxtrail"} {
		n = mapValue(n, key)
		if n == nil {
			return nil
		}
	}
	return n
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// decodeNode decodes ctxtrail's node strictly and checks its values; errors name the line.
func decodeNode(name string, n *yaml.Node) (node, error) {
	var out node
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return out, nil
	}
	// Node.Decode has no strict mode: check the keys against the struct first, with their lines.
	if errs := unknownNodeKeys(n, reflect.TypeFor[node](), nodePath); len(errs) > 0 {
		for i := range errs {
			errs[i] = fmt.Errorf("%s: %w", name, errs[i])
		}
		return out, errors.Join(errs...)
	}
	if err := n.Decode(&out); err != nil {
		return out, fmt.Errorf("%s: %s: %v", name, nodePath, err)
	}
	out.presentSections(n)
	var errs []error
	if m := out.Monitor; m != nil {
		errs = append(errs, negatives(name, "monitor", map[string]int64{"max_tracked": int64(m.MaxTracked),
			"max_names": int64(m.MaxNames), "leak_threshold": int64(m.LeakThreshold), "leak_check_interval": int64(m.LeakCheckInterval),
			"max_routes": int64(m.MaxRoutes), "recent_spans": int64(m.RecentSpans), "kept_traces": int64(m.KeptTraces)})...)
		if m.Path != "" && !strings.HasPrefix(m.Path, "/") {
			errs = append(errs, fmt.Errorf("%s: %s.monitor.path=%q: want a path starting with /", name, nodePath, m.Path))
		}
		if m.JaegerUI != "" {
			if _, ok := httpURL(m.JaegerUI); !ok {
				errs = append(errs, fmt.Errorf("%s: %s.monitor.jaeger_ui=%q: want the Jaeger UI's http or https URL, such as http://127.0.0.1:16686",
					name, nodePath, m.JaegerUI))
			}
		}
	}
	errs = append(errs, out.checkKeep(name)...)
	errs = append(errs, out.checkEvidence(name)...)
	if w := out.Waterfall; w != nil {
		errs = append(errs, negatives(name, "waterfall", map[string]int64{"bar_width": int64(w.BarWidth),
			"max_traces": int64(w.MaxTraces), "max_spans": int64(w.MaxSpans), "max_lines": int64(w.MaxLines),
			"max_age": int64(w.MaxAge), "queue_size": int64(w.QueueSize)})...)
	}
	return out, errors.Join(errs...)
}

// negatives returns an error for each of a section's counts below 0, in key order: 0 or absent
// keeps the default.
func negatives(name, section string, counts map[string]int64) []error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(counts)) {
		if v := counts[key]; v < 0 {
			errs = append(errs, fmt.Errorf("%s: %s.%s.%s=%d: want a positive number (0 or absent keeps the default)",
				name, nodePath, section, key, v))
		}
	}
	return errs
}

// unknownNodeKeys returns an error, with its line, for each key of n that t (a struct of the
// node, by yaml tag) does not have.
func unknownNodeKeys(n *yaml.Node, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		names = append(names, tag)
	}
	slices.Sort(names)
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		f, ok := fieldByYAML(t, k.Value)
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: %s.%s: ctxtrail's node has no such key (here: %s)",
				k.Line, path, k.Value, strings.Join(names, ", ")))
			continue
		}
		errs = append(errs, unknownNodeKeys(n.Content[i+1], f.Type, path+"."+k.Value)...)
	}
	return errs
}

func enabled(b *bool) bool { return b == nil || *b }

// HTTPHandlerOptions returns the options the file's ctxtrail node gives httpctx.NewHandler: the
// trust boundary with its baggage allowlist, WithTrustedRequestID, WithBodySizeMetrics. Add
// httpctx.WithProvider(p) beside them. A nil Config returns none.
func (c *Config) HTTPHandlerOptions() []httpctx.HandlerOption {
	if c == nil {
		return nil
	}
	var opts []httpctx.HandlerOption
	if tb := c.node.TrustBoundary; tb != nil && enabled(tb.Enabled) {
		opts = append(opts, httpctx.WithTrustBoundary(tb.AllowedBaggage...))
		if tb.TrustedRequestID {
			opts = append(opts, httpctx.WithTrustedRequestID())
		}
	}
	if h := c.node.HTTP; h != nil && h.BodySizeMetrics {
		opts = append(opts, httpctx.WithBodySizeMetrics())
	}
	return opts
}

// GRPCServerOptions returns the options the file's ctxtrail node gives grpcctx.NewServerHandler:
// the trust boundary, WithTrustedRequestID, WithMessageEvents, WithXTraceHeaders. A nil Config
// returns none.
func (c *Config) GRPCServerOptions() []grpcctx.Option {
	if c == nil {
		return nil
	}
	var opts []grpcctx.Option
	if tb := c.node.TrustBoundary; tb != nil && enabled(tb.Enabled) {
		opts = append(opts, grpcctx.WithTrustBoundary(tb.AllowedBaggage...))
		if tb.TrustedRequestID {
			opts = append(opts, grpcctx.WithTrustedRequestID())
		}
	}
	if g := c.node.GRPC; g != nil {
		if g.MessageEvents {
			opts = append(opts, grpcctx.WithMessageEvents())
		}
		if g.XTraceHeaders {
			opts = append(opts, grpcctx.WithXTraceHeaders())
		}
	}
	return opts
}

// Monitor returns the spans.Monitor the file's ctxtrail.monitor section asks for, or nil. The
// Config's Option registers it with Install (as a span processor and a sampler wrapper, so it
// counts what is sampled out); serve it at MonitorPath. The Provider's Shutdown stops it.
func (c *Config) Monitor() *spans.Monitor {
	if c == nil {
		return nil
	}
	return c.monitor
}

// MonitorPath returns where the file asks the monitor's page to be served (otelctx.MonitorPath
// by default), or "" when there is no monitor.
func (c *Config) MonitorPath() string {
	if c == nil || c.monitor == nil {
		return ""
	}
	if p := c.node.Monitor.Path; p != "" {
		return p
	}
	return otelctx.MonitorPath
}

// newMonitor makes the Monitor the node asks for.
func (n node) newMonitor() *spans.Monitor {
	m := n.Monitor
	if m == nil || !enabled(m.Enabled) {
		return nil
	}
	opts := []spans.MonitorOption{spans.WithMaxTracked(m.MaxTracked), spans.WithMaxNames(m.MaxNames),
		spans.WithLeakThreshold(ms(m.LeakThreshold)), spans.WithLeakCheckInterval(ms(m.LeakCheckInterval)),
		spans.WithMaxRoutes(m.MaxRoutes), spans.WithRecentSpans(m.RecentSpans), spans.WithKeptTraces(m.KeptTraces),
		// Always set, "" included: the file replaces CTXTRAIL_JAEGER_UI_URL.
		spans.WithJaegerUI(m.JaegerUI)}
	if m.Latency != nil && !*m.Latency {
		opts = append(opts, spans.WithoutLatency())
	}
	return spans.NewMonitor(opts...)
}

// newWaterfall makes the Printer of a ctxtrail_waterfall exporter, on standard output.
func (n node) newWaterfall() *waterfall.Printer {
	var opts []waterfall.Option
	if w := n.Waterfall; w != nil {
		if w.BarWidth > 0 {
			opts = append(opts, waterfall.WithBarWidth(w.BarWidth))
		}
		if w.MaxTraces > 0 {
			opts = append(opts, waterfall.WithMaxTraces(w.MaxTraces))
		}
		if w.MaxSpans > 0 {
			opts = append(opts, waterfall.WithMaxSpans(w.MaxSpans))
		}
		if w.MaxLines > 0 {
			opts = append(opts, waterfall.WithMaxLines(w.MaxLines))
		}
		if w.MaxAge > 0 {
			opts = append(opts, waterfall.WithMaxAge(ms(w.MaxAge)))
		}
		if w.QueueSize > 0 {
			opts = append(opts, waterfall.WithQueueSize(w.QueueSize))
		}
	}
	return waterfall.New(os.Stdout, opts...)
}

// baggageProcessor is the span processor copying the node's span_attributes members, or nil.
func (n node) baggageProcessor() *baggage.SpanProcessor {
	if n.Baggage == nil || len(n.Baggage.SpanAttributes) == 0 {
		return nil
	}
	return baggage.NewSpanProcessor(baggage.Keys(n.Baggage.SpanAttributes...))
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }
