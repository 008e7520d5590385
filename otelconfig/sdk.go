package otelconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/configfile"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	"go.opentelemetry.io/contrib/otelconf"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	yaml "go.yaml.in/yaml/v3"
)

// builder maps the model onto Install's options, marking each key it applies. With dry set it
// checks everything and makes nothing (no exporter, no reader, no goroutine).
type builder struct {
	c       *Config
	t       *tracker
	dry     bool
	ctx     context.Context
	out     *configfile.Loaded
	opts    []any
	closers []func(context.Context) error // made so far, shut down if a later step fails
	summary []string
}

func (b *builder) errf(format string, args ...any) error {
	return fmt.Errorf("%w: configuration %s: "+format, append([]any{ctxtrail.ErrConfig, b.c.name}, args...)...)
}

func (b *builder) add(opts ...ctxtrail.Option) {
	for _, o := range opts {
		b.opts = append(b.opts, o)
	}
}

// named hands Install an exporter or reader the file made, under the name Install reports it by.
func (b *builder) named(n configfile.Named) { b.opts = append(b.opts, n) }

func (b *builder) say(format string, args ...any) {
	b.summary = append(b.summary, fmt.Sprintf(format, args...))
}

func (b *builder) build() (*configfile.Loaded, error) {
	m := b.c.model
	b.out = &configfile.Loaded{Name: b.c.name, Env: b.c.env}
	b.t.use("file_format")
	b.say("file_format: %s", m.FileFormat)
	if m.Disabled != nil && *m.Disabled {
		b.out.Disabled = true
		b.say("disabled: true (nothing is sampled or exported)")
	}
	if b.has("disabled") {
		b.t.use("disabled")
	}
	steps := []func() error{b.resource, b.propagator, b.tracing, b.logging, b.metering, b.instrumentation}
	for _, step := range steps {
		if err := step(); err != nil {
			_ = b.closeAll(context.Background())
			return nil, err
		}
	}
	b.out.Options = b.opts
	if len(b.closers) > 0 {
		b.out.Close = b.closeAll
	}
	// The tolerated keys (a /development feature, another language's node) are Install's
	// warnings; the others failed Parse already.
	for _, k := range b.t.unused(b.c.doc) {
		if k.Warning {
			b.out.Warnings = append(b.out.Warnings, fmt.Errorf("%w: configuration %s: %s", ctxtrail.ErrEnvIgnored, b.c.name, k))
		}
	}
	return b.out, nil
}

// closeAll stops everything the file made so far, when a later step or Install fails.
func (b *builder) closeAll(ctx context.Context) error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c(ctx))
	}
	return errors.Join(errs...)
}

// raw returns the substituted node at path (a.b[0].c), or nil.
func (b *builder) raw(path string) *yaml.Node {
	n := b.c.doc.Content[0]
	for _, seg := range strings.Split(path, ".") {
		name, idx, indexed := strings.Cut(seg, "[")
		if n = mapValue(n, name); n == nil {
			return nil
		}
		if indexed {
			i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if err != nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		}
	}
	return n
}

// keyNode returns the key node of path, for its line.
func (b *builder) keyNode(path string) *yaml.Node {
	parent, last := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, last = path[:i], path[i+1:]
	}
	n := b.c.doc.Content[0]
	if parent != "" {
		n = b.raw(parent)
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == last {
			return n.Content[i]
		}
	}
	return nil
}

func (b *builder) has(path string) bool { return b.keyNode(path) != nil }

// oneExporter returns the one key of the exporter at path (console, otlp_http, ...).
func (b *builder) oneExporter(path string) (string, error) {
	keys := b.keys(path)
	if len(keys) != 1 {
		return "", b.errf("%s: want exactly one exporter, found %v", path, keys)
	}
	return keys[0], nil
}

// keys returns the keys of the mapping at path.
func (b *builder) keys(path string) []string {
	n := b.raw(path)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

func (b *builder) resource() error {
	r := b.c.model.Resource
	if r == nil {
		return nil
	}
	b.t.use("resource")
	var attrs []attribute.KeyValue
	if r.AttributesList != nil && *r.AttributesList != "" {
		b.t.use("resource.attributes_list")
		for _, kv := range strings.Split(*r.AttributesList, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return b.errf("resource.attributes_list=%q: want key=value pairs separated by commas", *r.AttributesList)
			}
			dv, err := url.PathUnescape(strings.TrimSpace(v))
			if err != nil {
				return b.errf("resource.attributes_list: %s: value %q is not percent-encoded correctly", k, v)
			}
			attrs = append(attrs, attribute.String(k, dv))
		}
	} else if b.has("resource.attributes_list") {
		b.t.use("resource.attributes_list") // substituted to nothing
	}
	for i, a := range r.Attributes { // they win over attributes_list
		p := fmt.Sprintf("resource.attributes[%d]", i)
		b.t.use("resource.attributes", p, p+".name", p+".value", p+".type")
		kv, err := attributeOf(a)
		if err != nil {
			return b.errf("%s (%s): %v", p, a.Name, err)
		}
		attrs = append(attrs, kv)
	}
	if len(attrs) > 0 {
		b.add(ctxtrail.WithResourceAttributes(attrs...))
	}
	for _, kv := range attrs {
		b.say("resource: %s=%s", kv.Key, kv.Value.String())
	}
	return nil
}

// attributeOf converts one resource attribute of the model, by its type (string by default).
func attributeOf(a otelconf.AttributeNameValue) (attribute.KeyValue, error) {
	typ := otelconf.AttributeTypeString
	if a.Type != nil {
		typ = *a.Type
	}
	k := attribute.Key(a.Name)
	list := func() ([]any, error) {
		l, ok := a.Value.([]any)
		if !ok {
			return nil, fmt.Errorf("type %s wants a list, got %v", typ, a.Value)
		}
		return l, nil
	}
	switch typ {
	case otelconf.AttributeTypeString:
		return k.String(fmt.Sprint(a.Value)), nil
	case otelconf.AttributeTypeBool:
		if v, ok := a.Value.(bool); ok {
			return k.Bool(v), nil
		}
	case otelconf.AttributeTypeInt:
		if v, ok := a.Value.(int); ok {
			return k.Int(v), nil
		}
	case otelconf.AttributeTypeDouble:
		switch v := a.Value.(type) {
		case float64:
			return k.Float64(v), nil
		case int:
			return k.Float64(float64(v)), nil
		}
	case otelconf.AttributeTypeStringArray:
		l, err := list()
		if err != nil {
			return k.String(""), err
		}
		s := make([]string, len(l))
		for i, v := range l {
			s[i] = fmt.Sprint(v)
		}
		return k.StringSlice(s), nil
	case otelconf.AttributeTypeBoolArray, otelconf.AttributeTypeIntArray, otelconf.AttributeTypeDoubleArray:
		l, err := list()
		if err != nil {
			return k.String(""), err
		}
		var bs []bool
		var is []int
		var fs []float64
		for _, v := range l {
			switch v := v.(type) {
			case bool:
				bs = append(bs, v)
			case int:
				is, fs = append(is, v), append(fs, float64(v))
			case float64:
				fs = append(fs, v)
			}
		}
		switch {
		case typ == otelconf.AttributeTypeBoolArray && len(bs) == len(l):
			return k.BoolSlice(bs), nil
		case typ == otelconf.AttributeTypeIntArray && len(is) == len(l):
			return k.IntSlice(is), nil
		case typ == otelconf.AttributeTypeDoubleArray && len(fs) == len(l):
			return k.Float64Slice(fs), nil
		}
	default:
		return k.String(""), fmt.Errorf("type %q: want string, bool, int, double or their _array", typ)
	}
	return k.String(""), fmt.Errorf("value %v is not of type %s", a.Value, typ)
}

// propagatorNames are the composite entries ctxtrail composes (Install's, as OTEL_PROPAGATORS).
var propagatorNames = []string{"tracecontext", "baggage", "xtrace", "b3", "b3multi", "jaeger", "none"}

func (b *builder) propagator() error {
	if b.c.model.Propagator == nil {
		b.say("propagator: none (the file has no propagator section)")
		return nil
	}
	b.t.use("propagator")
	var names []string
	addName := func(path, n string) error {
		if !slices.Contains(propagatorNames, n) {
			return b.errf("%s: propagator %q: ctxtrail composes %s", path, n, strings.Join(propagatorNames, ", "))
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
		return nil
	}
	if n := b.raw("propagator.composite"); n != nil {
		b.t.use("propagator.composite")
		for i := range n.Content {
			p := fmt.Sprintf("propagator.composite[%d]", i)
			for _, k := range b.keys(p) {
				b.t.useTree(p + "." + k)
				if err := addName(p+"."+k, k); err != nil {
					return err
				}
			}
		}
	}
	if l := b.c.model.Propagator.CompositeList; l != nil {
		b.t.use("propagator.composite_list")
		for _, n := range strings.Split(*l, ",") {
			if n = strings.TrimSpace(n); n != "" {
				if err := addName("propagator.composite_list", n); err != nil {
					return err
				}
			}
		}
	} else if b.has("propagator.composite_list") {
		b.t.use("propagator.composite_list")
	}
	if slices.Contains(names, "none") {
		names = nil
	}
	b.out.Propagators = names
	b.say("propagator: %s", strings.Join(append([]string{}, names...), ","))
	return nil
}

func (b *builder) tracing() error {
	tp := b.c.model.TracerProvider
	if tp == nil {
		b.add(ctxtrail.WithoutExporter(), ctxtrail.WithSampler(sdktrace.NeverSample()))
		b.say("traces: off (no tracer_provider)")
		return nil
	}
	b.t.use("tracer_provider", "tracer_provider.processors")
	sampler, err := b.sampler("tracer_provider.sampler", tp.Sampler, true)
	if err != nil {
		return err
	}
	if sampler != nil {
		b.add(ctxtrail.WithSampler(sampler))
	}
	var batch *sdktrace.BatchSpanProcessorOptions
	exporters := 0
	for i, proc := range tp.Processors {
		p := fmt.Sprintf("tracer_provider.processors[%d]", i)
		switch {
		case proc.Batch != nil:
			b.t.use(p+".batch", p+".batch.exporter")
			o, err := b.batchOptions(p+".batch", proc.Batch)
			if err != nil {
				return err
			}
			if batch != nil && *batch != o {
				return b.errf("%s.batch: ctxtrail gives every span exporter the same batch settings; "+
					"make them equal to those of the first batch processor (%+v)", p, *batch)
			}
			batch = &o
			if err := b.spanExporter(p+".batch.exporter", proc.Batch.Exporter, false); err != nil {
				return err
			}
		case proc.Simple != nil:
			b.t.use(p+".simple", p+".simple.exporter")
			if err := b.spanExporter(p+".simple.exporter", proc.Simple.Exporter, true); err != nil {
				return err
			}
		default:
			return b.errf("%s: span processor %v: ctxtrail builds batch and simple", p, b.keys(p))
		}
		exporters++
	}
	if batch != nil {
		b.add(ctxtrail.WithBatchOptions(sdktrace.WithBatchTimeout(batch.BatchTimeout), sdktrace.WithExportTimeout(batch.ExportTimeout),
			sdktrace.WithMaxQueueSize(batch.MaxQueueSize), sdktrace.WithMaxExportBatchSize(batch.MaxExportBatchSize)))
		b.say("traces: batch schedule_delay=%v export_timeout=%v max_queue_size=%d max_export_batch_size=%d",
			batch.BatchTimeout, batch.ExportTimeout, batch.MaxQueueSize, batch.MaxExportBatchSize)
	}
	if exporters == 0 {
		b.add(ctxtrail.WithoutExporter())
		b.say("traces: no exporter")
	}
	limits, err := b.spanLimits(tp.Limits)
	if err != nil {
		return err
	}
	b.out.TracerProvider = append(b.out.TracerProvider, sdktrace.WithRawSpanLimits(limits))
	return nil
}

// batchOptions reads a batch span processor, the specification's defaults filled in.
func (b *builder) batchOptions(p string, bp *otelconf.BatchSpanProcessor) (sdktrace.BatchSpanProcessorOptions, error) {
	o := sdktrace.BatchSpanProcessorOptions{BatchTimeout: 5 * time.Second, ExportTimeout: 30 * time.Second,
		MaxQueueSize: 2048, MaxExportBatchSize: 512}
	set := func(key string, v *int, min int, to func(int)) error {
		if v == nil {
			return nil
		}
		b.t.use(p + "." + key)
		if *v < min {
			return b.errf("%s.%s=%d: want at least %d", p, key, *v, min)
		}
		to(*v)
		return nil
	}
	err := errors.Join(
		set("schedule_delay", bp.ScheduleDelay, 0, func(v int) { o.BatchTimeout = time.Duration(v) * time.Millisecond }),
		set("export_timeout", bp.ExportTimeout, 0, func(v int) { o.ExportTimeout = time.Duration(v) * time.Millisecond }),
		set("max_queue_size", bp.MaxQueueSize, 1, func(v int) { o.MaxQueueSize = v }),
		set("max_export_batch_size", bp.MaxExportBatchSize, 1, func(v int) { o.MaxExportBatchSize = v }))
	if err == nil && o.MaxExportBatchSize > o.MaxQueueSize {
		err = b.errf("%s: max_export_batch_size %d is larger than max_queue_size %d", p, o.MaxExportBatchSize, o.MaxQueueSize)
	}
	return o, err
}

// waterfallKey is ctxtrail's span exporter: the terminal waterfall (ctxtrail.ExporterWaterfall).
const waterfallKey = "ctxtrail_waterfall"

func (b *builder) spanExporter(p string, e otelconf.SpanExporter, simple bool) error {
	key, err := b.oneExporter(p)
	if err != nil {
		return err
	}
	var exp sdktrace.SpanExporter
	switch {
	case key == "console":
		b.t.useTree(p + ".console")
		b.say("traces: console (JSON lines on stdout)")
		if !simple {
			b.add(ctxtrail.WithExporterName(ctxtrail.ExporterConsole))
			return nil
		}
		if !b.dry {
			exp, err = stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
		}
	case key == waterfallKey:
		b.t.useTree(p + "." + waterfallKey)
		b.say("traces: %s", ctxtrail.ExporterWaterfall)
		if !b.dry {
			pr := b.c.node.newWaterfall()
			b.add(ctxtrail.WithWaterfall(pr), ctxtrail.WithSpanProcessor(printerOwner{pr}))
			b.closers = append(b.closers, printerOwner{pr}.Shutdown)
		}
		return nil
	case key == "otlp_http" && e.OTLPHttp != nil:
		err = b.otlpSpan(p+".otlp_http", httpFields(e.OTLPHttp), false, simple, &exp)
	case key == "otlp_grpc" && e.OTLPGrpc != nil:
		err = b.otlpSpan(p+".otlp_grpc", grpcFields(e.OTLPGrpc), true, simple, &exp)
	default:
		return b.errf("%s.%s: span exporter %q: ctxtrail builds otlp_http, otlp_grpc, console and %s", p, key, key, waterfallKey)
	}
	if err != nil || b.dry {
		return err
	}
	b.closers = append(b.closers, exp.Shutdown)
	if simple {
		b.add(ctxtrail.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(exp)))
	} else {
		b.named(configfile.Named{Name: ctxtrail.ExporterOTLP, Span: exp})
	}
	return nil
}

func (b *builder) otlpSpan(p string, f otlpFields, grpc, simple bool, exp *sdktrace.SpanExporter) error {
	o, err := b.parseOTLP(p, f, grpc, "/v1/traces")
	if err != nil {
		return err
	}
	kind := "batch"
	if simple {
		kind = "simple (spans exported one by one, outside ctxtrail's loss accounting)"
	}
	b.say("traces: %s, %s", o, kind)
	if b.dry {
		return nil
	}
	*exp, err = o.spanExporter(b.ctx)
	return err
}

// printerOwner shuts the file's waterfall Printer down with the Provider, which only flushes a
// Printer given to WithWaterfall.
type printerOwner struct{ p *waterfall.Printer }

func (printerOwner) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (printerOwner) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (o printerOwner) ForceFlush(ctx context.Context) error          { return nil }
func (o printerOwner) Shutdown(ctx context.Context) error {
	if err := o.p.Shutdown(ctx); err != nil && !errors.Is(err, waterfall.ErrShutdown) {
		return err
	}
	return nil
}

func httpFields(e *otelconf.OTLPHttpExporter) otlpFields {
	f := otlpFields{Endpoint: e.Endpoint, Headers: e.Headers, HeadersList: e.HeadersList, Compression: e.Compression,
		Timeout: e.Timeout, Encoding: e.Encoding}
	if e.Tls != nil {
		f.CAFile, f.CertFile, f.KeyFile = e.Tls.CaFile, e.Tls.CertFile, e.Tls.KeyFile
	}
	return f
}

func grpcFields(e *otelconf.OTLPGrpcExporter) otlpFields {
	f := otlpFields{Endpoint: e.Endpoint, Headers: e.Headers, HeadersList: e.HeadersList, Compression: e.Compression,
		Timeout: e.Timeout}
	if e.Tls != nil {
		f.CAFile, f.CertFile, f.KeyFile, f.Insecure = e.Tls.CaFile, e.Tls.CertFile, e.Tls.KeyFile, e.Tls.Insecure
	}
	return f
}

// spanLimits are the file's span limits over attribute_limits over the specification's
// defaults, all explicit, so the SDK reads no OTEL_SPAN_* variable.
func (b *builder) spanLimits(l *otelconf.SpanLimits) (sdktrace.SpanLimits, error) {
	out := sdktrace.SpanLimits{AttributeValueLengthLimit: -1, AttributeValueDepthLimit: sdktrace.DefaultAttributeValueDepthLimit,
		AttributeCountLimit: 128, EventCountLimit: 128,
		LinkCountLimit: 128, AttributePerEventCountLimit: 128, AttributePerLinkCountLimit: 128}
	if a := b.c.model.AttributeLimits; a != nil {
		if err := b.attributeLimits("attribute_limits", a.AttributeCountLimit, a.AttributeValueLengthLimit,
			&out.AttributeCountLimit, &out.AttributeValueLengthLimit, &out.AttributeValueDepthLimit); err != nil {
			return out, err
		}
	}
	if l != nil {
		p := "tracer_provider.limits"
		if err := errors.Join(
			b.attributeLimits(p, l.AttributeCountLimit, l.AttributeValueLengthLimit,
				&out.AttributeCountLimit, &out.AttributeValueLengthLimit, &out.AttributeValueDepthLimit),
			b.limit(p+".event_count_limit", l.EventCountLimit, &out.EventCountLimit),
			b.limit(p+".link_count_limit", l.LinkCountLimit, &out.LinkCountLimit),
			b.limit(p+".event_attribute_count_limit", l.EventAttributeCountLimit, &out.AttributePerEventCountLimit),
			b.limit(p+".link_attribute_count_limit", l.LinkAttributeCountLimit, &out.AttributePerLinkCountLimit)); err != nil {
			return out, err
		}
	}
	b.say("traces: limits attributes=%d value_length=%d events=%d links=%d", out.AttributeCountLimit,
		out.AttributeValueLengthLimit, out.EventCountLimit, out.LinkCountLimit)
	return out, nil
}

// attributeLimits reads the section at path that limits attributes (attribute_limits, or a
// provider's limits): its count, value length and value depth, each over what to holds.
func (b *builder) attributeLimits(path string, count, length *int, toCount, toLength, toDepth *int) error {
	b.t.use(path)
	return errors.Join(
		b.limit(path+".attribute_count_limit", count, toCount),
		b.limit(path+".attribute_value_length_limit", length, toLength),
		b.depthLimit(path, toDepth))
}

// millis reads a positive number of milliseconds at path into to, when v is set.
func (b *builder) millis(path string, v *int, to *time.Duration) error {
	if v == nil {
		return nil
	}
	b.t.use(path)
	if *v <= 0 {
		return b.errf("%s=%d: want a positive number of milliseconds", path, *v)
	}
	*to = time.Duration(*v) * time.Millisecond
	return nil
}

// depthLimit reads attribute_value_depth_limit under path (schema 1.1; otelconf's model lacks it).
func (b *builder) depthLimit(path string, to *int) error {
	p := path + ".attribute_value_depth_limit"
	n := b.raw(p)
	if n == nil || isNull(n) {
		b.t.use(p)
		return nil
	}
	var v int
	if err := n.Decode(&v); err != nil {
		return b.errf("%s: want a whole number (line %d)", p, n.Line)
	}
	return b.limit(p, &v, to)
}

func (b *builder) limit(path string, v *int, to *int) error {
	b.t.use(path)
	if v == nil {
		return nil
	}
	if *v < 0 {
		return b.errf("%s=%d: want 0 or more", path, *v)
	}
	*to = *v
	return nil
}

// jaegerKey is the specification's Jaeger remote sampler.
const jaegerKey = "jaeger_remote/development"

// sampler reads the sampler at p. A jaeger_remote sampler (at the top, or as parent_based's
// root with the other parents at their defaults) goes to Install's remote-sampling seam and
// returns nil; nested anywhere else it is an error.
func (b *builder) sampler(p string, s *otelconf.Sampler, top bool) (sdktrace.Sampler, error) {
	if s == nil {
		b.say("sampler: parent_based(always_on) (the default)")
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	}
	b.t.use(p)
	keys := b.keys(p)
	if len(keys) != 1 {
		return nil, b.errf("%s: want exactly one sampler, found %v", p, keys)
	}
	switch key := keys[0]; key {
	case "always_on":
		b.t.useTree(p + ".always_on")
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		b.t.useTree(p + ".always_off")
		return sdktrace.NeverSample(), nil
	case "trace_id_ratio_based":
		b.t.use(p + ".trace_id_ratio_based")
		ratio := 1.0
		if s.TraceIDRatioBased != nil && s.TraceIDRatioBased.Ratio != nil {
			b.t.use(p + ".trace_id_ratio_based.ratio")
			ratio = *s.TraceIDRatioBased.Ratio
		}
		if !(ratio >= 0 && ratio <= 1) {
			return nil, b.errf("%s.trace_id_ratio_based.ratio=%v: want a ratio from 0 to 1", p, ratio)
		}
		if top {
			b.say("sampler: trace_id_ratio_based(%v)", ratio)
		}
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parent_based":
		return b.parentBased(p+".parent_based", s.ParentBased, top)
	case jaegerKey:
		if !top {
			return nil, b.errf("%s.%s: ctxtrail runs the Jaeger remote sampler as the tracer provider's sampler "+
				"or parent_based's root only", p, jaegerKey)
		}
		return nil, b.jaeger(p+"."+jaegerKey, false)
	default:
		return nil, b.errf("%s.%s: sampler %q: ctxtrail builds always_on, always_off, trace_id_ratio_based, "+
			"parent_based and %s", p, key, key, jaegerKey)
	}
}

func (b *builder) parentBased(p string, pb *otelconf.ParentBasedSampler, top bool) (sdktrace.Sampler, error) {
	b.t.use(p)
	if pb == nil {
		pb = &otelconf.ParentBasedSampler{}
	}
	if top && pb.Root != nil && slices.Contains(b.keys(p+".root"), jaegerKey) {
		if others := slices.DeleteFunc(b.keys(p), func(k string) bool { return k == "root" }); len(others) > 0 {
			return nil, b.errf("%s: with a %s root, ctxtrail keeps the other parent samplers at their defaults; remove %v",
				p, jaegerKey, others)
		}
		b.t.use(p+".root", p+".root."+jaegerKey)
		return nil, b.jaeger(p+".root."+jaegerKey, true)
	}
	root := sdktrace.AlwaysSample()
	if pb.Root != nil {
		s, err := b.sampler(p+".root", pb.Root, false)
		if err != nil {
			return nil, err
		}
		root = s
	}
	var opts []sdktrace.ParentBasedSamplerOption
	for _, c := range []struct {
		key string
		s   *otelconf.Sampler
		opt func(sdktrace.Sampler) sdktrace.ParentBasedSamplerOption
	}{
		{"remote_parent_sampled", pb.RemoteParentSampled, sdktrace.WithRemoteParentSampled},
		{"remote_parent_not_sampled", pb.RemoteParentNotSampled, sdktrace.WithRemoteParentNotSampled},
		{"local_parent_sampled", pb.LocalParentSampled, sdktrace.WithLocalParentSampled},
		{"local_parent_not_sampled", pb.LocalParentNotSampled, sdktrace.WithLocalParentNotSampled},
	} {
		if c.s == nil {
			continue
		}
		s, err := b.sampler(p+"."+c.key, c.s, false)
		if err != nil {
			return nil, err
		}
		opts = append(opts, c.opt(s))
	}
	s := sdktrace.ParentBased(root, opts...)
	if top {
		b.say("sampler: %s", s.Description())
	}
	return s, nil
}

// jaeger reads a jaeger_remote sampler into Install's remote-sampling seam.
func (b *builder) jaeger(p string, parentBased bool) error {
	b.t.use(p)
	var j struct {
		Endpoint       string         `yaml:"endpoint"`
		Interval       *int           `yaml:"interval"`
		InitialSampler *yaml.Node     `yaml:"initial_sampler"`
		Rest           map[string]any `yaml:",inline"`
	}
	if n := b.raw(p); n != nil {
		if err := n.Decode(&j); err != nil {
			return b.errf("%s: %v", p, err)
		}
	}
	rs := &configfile.RemoteSampler{ParentBased: parentBased, PollingInterval: time.Minute, InitialSamplingRate: 0.001}
	if j.Endpoint == "" {
		return b.errf("%s.endpoint: required: the URL of Jaeger's sampling endpoint, such as http://jaeger:5778/sampling", p)
	}
	b.t.use(p + ".endpoint")
	u, ok := httpURL(j.Endpoint)
	if !ok {
		return b.errf("%s.endpoint=%q: want the http or https URL of Jaeger's sampling endpoint, such as "+
			"http://jaeger:5778/sampling (the Go sampler speaks HTTP, not gRPC on 14250)", p, j.Endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sampling"
	}
	rs.Endpoint = u.String()
	if err := b.millis(p+".interval", j.Interval, &rs.PollingInterval); err != nil {
		return err
	}
	if j.InitialSampler != nil {
		ip := p + ".initial_sampler"
		b.t.use(ip)
		switch keys := b.keys(ip); {
		case slices.Equal(keys, []string{"always_on"}):
			rs.InitialSamplingRate = 1
		case slices.Equal(keys, []string{"always_off"}):
			rs.InitialSamplingRate = 0
		case slices.Equal(keys, []string{"trace_id_ratio_based"}):
			var r struct {
				TraceIDRatioBased struct {
					Ratio *float64 `yaml:"ratio"`
				} `yaml:"trace_id_ratio_based"`
			}
			if err := j.InitialSampler.Decode(&r); err != nil {
				return b.errf("%s: %v", ip, err)
			}
			rs.InitialSamplingRate = 1
			if r.TraceIDRatioBased.Ratio != nil {
				rs.InitialSamplingRate = *r.TraceIDRatioBased.Ratio
				b.t.use(ip + ".trace_id_ratio_based.ratio")
			}
			if !(rs.InitialSamplingRate >= 0 && rs.InitialSamplingRate <= 1) {
				return b.errf("%s.trace_id_ratio_based.ratio=%v: want a ratio from 0 to 1", ip, rs.InitialSamplingRate)
			}
		default:
			return b.errf("%s: ctxtrail's Jaeger sampler starts from always_on, always_off or trace_id_ratio_based, not %v", ip, keys)
		}
		b.t.useTree(ip + "." + b.keys(ip)[0])
	}
	b.out.RemoteSampler = rs
	b.say("sampler: %s endpoint=%s interval=%v initial=%v parent_based=%v (needs jaegerremote.Enable())",
		jaegerKey, rs.Endpoint, rs.PollingInterval, rs.InitialSamplingRate, parentBased)
	return nil
}

func (b *builder) logging() error {
	lp := b.c.model.LoggerProvider
	if lp == nil {
		b.add(ctxtrail.WithoutLogs())
		b.say("logs: off (no logger_provider)")
		return nil
	}
	b.t.use("logger_provider", "logger_provider.processors")
	var batch *ctxtrail.LogBatch
	exporters := 0
	for i, proc := range lp.Processors {
		p := fmt.Sprintf("logger_provider.processors[%d]", i)
		if proc.Batch == nil {
			return b.errf("%s: log record processor %v: ctxtrail batches log records (counting what it drops); use batch", p, b.keys(p))
		}
		b.t.use(p+".batch", p+".batch.exporter")
		bp := proc.Batch
		o, err := b.batchOptions(p+".batch", &otelconf.BatchSpanProcessor{ScheduleDelay: (*int)(bp.ScheduleDelay),
			ExportTimeout: (*int)(bp.ExportTimeout), MaxQueueSize: (*int)(bp.MaxQueueSize), MaxExportBatchSize: (*int)(bp.MaxExportBatchSize)})
		if err != nil {
			return err
		}
		if bp.ScheduleDelay == nil {
			o.BatchTimeout = time.Second // the log processor's default
		}
		lb := ctxtrail.LogBatch{QueueSize: o.MaxQueueSize, BatchSize: o.MaxExportBatchSize, Interval: o.BatchTimeout, Timeout: o.ExportTimeout}
		if batch != nil && *batch != lb {
			return b.errf("%s.batch: ctxtrail gives every log exporter the same batch settings; make them equal "+
				"to those of the first batch processor (%+v)", p, *batch)
		}
		batch = &lb
		ep := p + ".batch.exporter"
		key, err := b.oneExporter(ep)
		if err != nil {
			return err
		}
		var o2 *otlp
		switch e := bp.Exporter; {
		case key == "console":
			b.t.useTree(ep + ".console")
			b.add(ctxtrail.WithLogExporterName(ctxtrail.ExporterConsole))
			b.say("logs: console")
		case key == "otlp_http" && e.OTLPHttp != nil:
			o2, err = b.parseOTLP(ep+".otlp_http", httpFields(e.OTLPHttp), false, "/v1/logs")
		case key == "otlp_grpc" && e.OTLPGrpc != nil:
			o2, err = b.parseOTLP(ep+".otlp_grpc", grpcFields(e.OTLPGrpc), true, "")
		default:
			return b.errf("%s.%s: log exporter %q: ctxtrail builds otlp_http, otlp_grpc and console", ep, key, key)
		}
		if err != nil {
			return err
		}
		if o2 != nil {
			b.say("logs: %s", o2)
			if !b.dry {
				exp, err := o2.logExporter(b.ctx)
				if err != nil {
					return err
				}
				b.closers = append(b.closers, exp.Shutdown)
				b.named(configfile.Named{Name: ctxtrail.ExporterOTLP, Log: exp})
			}
		}
		exporters++
	}
	if batch != nil {
		b.add(ctxtrail.WithLogBatch(*batch))
		b.say("logs: batch %+v", *batch)
	}
	if exporters == 0 {
		b.add(ctxtrail.WithoutLogs())
	}
	count, length, depth := 128, -1, sdktrace.DefaultAttributeValueDepthLimit
	if a := b.c.model.AttributeLimits; a != nil {
		if err := b.attributeLimits("attribute_limits", a.AttributeCountLimit, a.AttributeValueLengthLimit, &count, &length, &depth); err != nil {
			return err
		}
	}
	if l := lp.Limits; l != nil {
		if err := b.attributeLimits("logger_provider.limits", l.AttributeCountLimit, l.AttributeValueLengthLimit, &count, &length, &depth); err != nil {
			return err
		}
	}
	b.out.LoggerProvider = append(b.out.LoggerProvider, sdklog.WithAttributeCountLimit(count),
		sdklog.WithAttributeValueLengthLimit(length), sdklog.WithAttributeValueDepthLimit(depth))
	return nil
}

func (b *builder) metering() error {
	mp := b.c.model.MeterProvider
	if mp == nil {
		b.add(ctxtrail.WithoutMetrics())
		b.say("metrics: off (no meter_provider)")
		return nil
	}
	b.t.use("meter_provider", "meter_provider.readers")
	filter := exemplar.TraceBasedFilter
	if mp.ExemplarFilter != nil {
		b.t.use("meter_provider.exemplar_filter")
		switch *mp.ExemplarFilter {
		case otelconf.ExemplarFilterAlwaysOn:
			filter = exemplar.AlwaysOnFilter
		case otelconf.ExemplarFilterAlwaysOff:
			filter = exemplar.AlwaysOffFilter
		case otelconf.ExemplarFilterTraceBased:
		default:
			return b.errf("meter_provider.exemplar_filter=%q: want trace_based, always_on or always_off", *mp.ExemplarFilter)
		}
	}
	b.out.MeterProvider = append(b.out.MeterProvider, sdkmetric.WithExemplarFilter(filter))
	readers := 0
	for i, r := range mp.Readers {
		p := fmt.Sprintf("meter_provider.readers[%d]", i)
		switch {
		case r.Periodic != nil:
			if err := b.periodic(p+".periodic", r.Periodic); err != nil {
				return err
			}
		case r.Pull != nil:
			if err := b.pull(p + ".pull"); err != nil {
				return err
			}
		default:
			return b.errf("%s: metric reader %v: ctxtrail builds periodic and pull", p, b.keys(p))
		}
		readers++
	}
	if readers == 0 {
		b.add(ctxtrail.WithoutMetrics())
		b.say("metrics: no reader")
	}
	return nil
}

func (b *builder) periodic(p string, r *otelconf.PeriodicMetricReader) error {
	b.t.use(p, p+".exporter")
	interval, timeout := time.Minute, 30*time.Second
	if err := errors.Join(b.millis(p+".interval", r.Interval, &interval), b.millis(p+".timeout", r.Timeout, &timeout)); err != nil {
		return err
	}
	ep := p + ".exporter"
	key, err := b.oneExporter(ep)
	if err != nil {
		return err
	}
	var (
		o *otlp
		e = r.Exporter
	)
	metricFields := func(p string, temporality *otelconf.ExporterTemporalityPreference, hist *otelconf.ExporterDefaultHistogramAggregation) (string, string, error) {
		t, h := "cumulative", "explicit_bucket_histogram"
		if temporality != nil {
			b.t.use(p + ".temporality_preference")
			t = string(*temporality)
			if !slices.Contains([]string{"cumulative", "delta", "low_memory"}, t) {
				return "", "", b.errf("%s.temporality_preference=%q: want cumulative, delta or low_memory", p, t)
			}
		}
		if hist != nil {
			b.t.use(p + ".default_histogram_aggregation")
			h = string(*hist)
			if !slices.Contains([]string{"explicit_bucket_histogram", "base2_exponential_bucket_histogram"}, h) {
				return "", "", b.errf("%s.default_histogram_aggregation=%q: want explicit_bucket_histogram or base2_exponential_bucket_histogram", p, h)
			}
		}
		return t, h, nil
	}
	switch {
	case key == "console":
		b.t.use(ep + ".console")
		if e.Console != nil {
			if _, _, err := metricFields(ep+".console", e.Console.TemporalityPreference, e.Console.DefaultHistogramAggregation); err != nil {
				return err
			}
		}
		b.say("metrics: periodic every %v, console", interval)
		if b.dry {
			return nil
		}
		exp, err := stdoutmetric.New(stdoutmetric.WithWriter(os.Stdout))
		if err != nil {
			return err
		}
		b.addReader(ctxtrail.ExporterConsole, exp, interval, timeout)
		return nil
	case key == "otlp_http" && e.OTLPHttp != nil:
		x := e.OTLPHttp
		f := otlpFields{Endpoint: x.Endpoint, Headers: x.Headers, HeadersList: x.HeadersList, Compression: x.Compression,
			Timeout: x.Timeout, Encoding: x.Encoding}
		if x.Tls != nil {
			f.CAFile, f.CertFile, f.KeyFile = x.Tls.CaFile, x.Tls.CertFile, x.Tls.KeyFile
		}
		if o, err = b.parseOTLP(ep+".otlp_http", f, false, "/v1/metrics"); err != nil {
			return err
		}
		o.temporality, o.histogram, err = metricFields(ep+".otlp_http", x.TemporalityPreference, x.DefaultHistogramAggregation)
	case key == "otlp_grpc" && e.OTLPGrpc != nil:
		x := e.OTLPGrpc
		f := otlpFields{Endpoint: x.Endpoint, Headers: x.Headers, HeadersList: x.HeadersList, Compression: x.Compression, Timeout: x.Timeout}
		if x.Tls != nil {
			f.CAFile, f.CertFile, f.KeyFile, f.Insecure = x.Tls.CaFile, x.Tls.CertFile, x.Tls.KeyFile, x.Tls.Insecure
		}
		if o, err = b.parseOTLP(ep+".otlp_grpc", f, true, ""); err != nil {
			return err
		}
		o.temporality, o.histogram, err = metricFields(ep+".otlp_grpc", x.TemporalityPreference, x.DefaultHistogramAggregation)
	default:
		return b.errf("%s.%s: metric exporter %q: ctxtrail builds otlp_http, otlp_grpc and console", ep, key, key)
	}
	if err != nil {
		return err
	}
	b.say("metrics: periodic every %v, %s temporality=%s", interval, o, o.temporality)
	if b.dry {
		return nil
	}
	exp, err := o.metricExporter(b.ctx)
	if err != nil {
		return err
	}
	b.addReader(ctxtrail.ExporterOTLP, exp, interval, timeout)
	return nil
}

func (b *builder) addReader(name string, exp sdkmetric.Exporter, interval, timeout time.Duration) {
	r := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(interval), sdkmetric.WithTimeout(timeout))
	b.closers = append(b.closers, r.Shutdown)
	b.named(configfile.Named{Name: name, Reader: r})
}

// promKey is the specification's Prometheus pull exporter.
const promKey = "prometheus/development"

// pull maps a Prometheus pull exporter onto ctxtrail's own scrape endpoint.
func (b *builder) pull(p string) error {
	b.t.use(p, p+".exporter")
	ep := p + ".exporter"
	keys := b.keys(ep)
	if !slices.Equal(keys, []string{promKey}) {
		return b.errf("%s: pull exporter %v: ctxtrail serves %s", ep, keys, promKey)
	}
	pp := ep + "." + promKey
	b.t.use(pp)
	host, port := "localhost", 9464
	if n := b.raw(pp); n != nil && n.Kind == yaml.MappingNode {
		var v struct {
			Host *string `yaml:"host"`
			Port *int    `yaml:"port"`
		}
		if err := n.Decode(&v); err != nil {
			return b.errf("%s: %v", pp, err)
		}
		if v.Host != nil {
			b.t.use(pp + ".host")
			host = *v.Host
		}
		if v.Port != nil {
			b.t.use(pp + ".port")
			if *v.Port <= 0 || *v.Port > 65535 {
				return b.errf("%s.port=%d: not a port number", pp, *v.Port)
			}
			port = *v.Port
		}
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	b.add(ctxtrail.WithMetricsExporterName(ctxtrail.ExporterPrometheus), ctxtrail.WithPrometheusAddr(addr))
	b.say("metrics: prometheus, served at http://%s/metrics", addr)
	return nil
}

// instrumentation applies ctxtrail's node: the monitor and the baggage span processor go to
// Install; the handlers' settings are read by HTTPHandlerOptions and GRPCServerOptions.
func (b *builder) instrumentation() error {
	// Descend into the section, so that each language and library is named on its own.
	b.t.use("instrumentation/development", "instrumentation/development.go", "instrumentation", "instrumentation.go")
	// The capture is decided by the file even without a node: CTXTRAIL_KEEP is replaced as the
	// OTEL_* variables are (node_keep.go).
	keepOpt, keepSay := b.c.node.keepOption()
	b.add(keepOpt)
	if findNode(b.c.doc) == nil {
		return nil
	}
	if b.c.node.Keep != nil {
		b.say("ctxtrail: keep %s", keepSay)
	}
	b.t.useTree(nodePath)
	n := b.c.node
	if n.TrustBoundary != nil && enabled(n.TrustBoundary.Enabled) {
		b.say("ctxtrail: trust boundary on every server handler; baggage allowed in: %v; caller's request ID trusted: %v",
			n.TrustBoundary.AllowedBaggage, n.TrustBoundary.TrustedRequestID)
	}
	if sp := n.baggageProcessor(); sp != nil {
		b.add(ctxtrail.WithSpanProcessor(sp))
		b.say("ctxtrail: baggage members copied onto spans: %v", n.Baggage.SpanAttributes)
	}
	if m := n.Monitor; m != nil && enabled(m.Enabled) {
		path := m.Path
		if path == "" {
			path = otelctx.MonitorPath
		}
		latency := "on"
		if m.Latency != nil && !*m.Latency {
			latency = "off"
		}
		jaeger := m.JaegerUI
		if jaeger == "" {
			jaeger = "(none)"
		}
		b.say("ctxtrail: monitor at %s max_tracked=%d max_names=%d leak_threshold=%v leak_check_interval=%v "+
			"latency=%s max_routes=%d recent_spans=%d kept_traces=%d jaeger_ui=%s (0: the defaults)",
			path, m.MaxTracked, m.MaxNames, ms(m.LeakThreshold), ms(m.LeakCheckInterval),
			latency, m.MaxRoutes, m.RecentSpans, m.KeptTraces, jaeger)
		if !b.dry && b.c.monitor != nil {
			b.add(ctxtrail.WithSpanProcessor(b.c.monitor), ctxtrail.WithSamplerWrapper(b.c.monitor.Sampler))
		}
	}
	if h := n.HTTP; h != nil {
		b.say("ctxtrail: http body_size_metrics=%v", h.BodySizeMetrics)
	}
	if g := n.GRPC; g != nil {
		b.say("ctxtrail: grpc message_events=%v xtrace_headers=%v", g.MessageEvents, g.XTraceHeaders)
	}
	if n.Waterfall != nil {
		b.say("ctxtrail: waterfall %+v", *n.Waterfall)
	}
	if s := n.evidenceSummary(); s != "" {
		b.say("ctxtrail: %s", s)
	}
	return nil
}
