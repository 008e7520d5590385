// Package otelconfig reads OpenTelemetry's declarative configuration file (OTEL_CONFIG_FILE,
// schema 1.x) for ctxtrail.Install, and ctxtrail's own settings from the file's
// instrumentation/development → go → ctxtrail node. It is a module of its own so that the
// library never links a YAML parser: a service that reads no file pays nothing for it.
//
// # Use
//
//	conf, err := otelconfig.FromEnv() // nil, with no options, when OTEL_CONFIG_FILE is unset
//	p, err := ctxtrail.Install(ctx, conf.Option())
//	if mon := conf.Monitor(); mon != nil {
//		mux.Handle("GET "+conf.MonitorPath(), mon)
//	}
//	rec, err := conf.Evidence() // defer rec.Shutdown(ctx)
//	h := httpctx.NewHandler(rec.Middleware(mux), append(conf.HTTPHandlerOptions(), httpctx.WithProvider(p))...)
//
// Enable, File and Bytes are Install options that read the file inside Install, for a service
// whose file configures only the SDK. Without any of them, OTEL_CONFIG_FILE makes Install fail
// with an error wrapping ctxtrail.ErrConfig that names this package.
//
// # What is applied
//
// Parsing and the model are contrib's go.opentelemetry.io/contrib/otelconf (v0.27.0): its
// structs, their validation and required fields. ctxtrail adds what that package lacks: the
// substitution done on scalar values only (keys and comments untouched), line numbers, a check
// that every key was applied, the jaeger_remote/development sampler, the Prometheus pull
// exporter on ctxtrail's own scrape endpoint, and the instrumentation node. The SDK pieces are
// built by ctxtrail.Install (its bounded pipelines and loss accounting); the file only chooses
// them:
//
//   - file_format 1.x; disabled; attribute_limits;
//   - resource: attributes (every type), attributes_list;
//   - propagator: composite and composite_list of tracecontext, baggage, xtrace, b3, b3multi,
//     jaeger;
//   - tracer_provider: batch and simple processors; otlp_http, otlp_grpc, console and
//     ctxtrail_waterfall exporters; samplers always_on, always_off, trace_id_ratio_based,
//     parent_based and jaeger_remote/development (with jaegerremote.Enable, as the top sampler
//     or parent_based's root); limits;
//   - meter_provider: periodic readers with otlp_http, otlp_grpc or console, a pull reader with
//     prometheus/development (host, port); exemplar_filter;
//   - logger_provider: batch processors with otlp_http, otlp_grpc or console; limits.
//
// Every batch processor of one signal must have the same settings (Install gives one setting to
// all its exporters). Anything else in the file is reported with its line: an error (Load fails)
// for a key of the stable schema ctxtrail does not apply (views, producers, cardinality_limits,
// schema_url, ottrace…) or a key of no schema; a warning, which Install reports through its
// error handler, for a /development feature, log_level, and another language's or library's
// instrumentation. Check and the ctxtrail-config command print the effective configuration and
// every key not applied.
//
// # Environment variables
//
// When the file is used, Install reads none of the OTEL_* variables it replaces and names those
// that are set in one warning; a variable counts only where the file names it as ${VAR},
// ${env:VAR} or ${VAR:-default} ($$ is a literal $). A plain value substituted keeps its YAML
// type (${PORT} can be a number); a quoted one stays a string. Two exceptions come from the Go
// SDK, not the file: its providers merge OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME under
// every resource (the file's attributes win; Install's warning says so), and an otlp_grpc
// exporter without compression still takes OTEL_EXPORTER_OTLP_[SIGNAL_]COMPRESSION, since the
// gRPC exporters have no option that sets "none" without reporting an error.
//
// # ctxtrail's node
//
//	instrumentation/development:
//	  go:
//	    ctxtrail:
//	      trust_boundary: {allowed_baggage: [tenant.id], trusted_request_id: false}
//	      baggage: {span_attributes: [tenant.id]}
//	      monitor: {path: /debug/ctxtrail, max_tracked: 1000, max_names: 200, leak_threshold: 60000, leak_check_interval: 30000,
//	                latency: true, max_routes: 100, recent_spans: 4096, kept_traces: 128, jaeger_ui: "http://127.0.0.1:16686"}
//	      keep: {enabled: true, slow_threshold: 750, max_spans_per_trace: 512, max_attributes_per_span: 64,
//	             max_events_per_span: 32, max_bytes: 67108864, max_traces: 100000}
//	      evidence:
//	        profile_labels: true
//	        left_behind: {grace: 5000, interval: 10000, ignore: [example.com/pool.(*Pool).worker]}
//	        flight_recorder: {slow_threshold: 1000, route_thresholds: {"GET /inventory": 200}, captures_per_minute: 6,
//	                          max_capture_bytes: 67108864, capture_dir: /var/tmp/captures, window_min_age: 5000, window_max_bytes: 2097152}
//	      waterfall: {bar_width: 40, max_traces: 64, max_spans: 200, max_lines: 100, max_age: 30000, queue_size: 4096}
//	      http: {body_size_metrics: true}
//	      grpc: {message_events: true, xtrace_headers: true}
//
// Durations are milliseconds, as elsewhere in the schema; keep's and the evidence's durations
// also take a Go duration ("750ms"), the form of CTXTRAIL_KEEP_SLOW and CTXTRAIL_EVIDENCE_SLOW.
// For a number, 0 or absent keeps the option's default, except keep.slow_threshold, where 0 keeps
// no trace for being slow. A section named with no value (keep:) is there, with its defaults, as
// console: is an exporter; keep, evidence and its parts are on once there (enabled: false turns
// one off), and monitor.latency: false is spans.WithoutLatency. The monitor's WithLeakCallback,
// WithStatsLogger and WithMonitorSection, and evidence.WithSharedFlightRecorder, take Go values
// and stay in code.
//
// trust_boundary, http and grpc go to the servers through HTTPHandlerOptions and
// GRPCServerOptions; the monitor, the baggage processor and keep (ctxtrail.WithKeepErrorsAndSlow)
// go to Install through Option; evidence builds the service's Recorder through Config.Evidence.
// Because Install alone cannot reach the service's handlers, Enable, File and Bytes refuse a file
// that sets trust_boundary, http, grpc, monitor or evidence; they apply keep.
//
// # ctxtrail's own variables
//
// ctxtrail's variables for the node's settings — CTXTRAIL_KEEP and CTXTRAIL_KEEP_SLOW (keep),
// CTXTRAIL_JAEGER_UI_URL (monitor.jaeger_ui, when the file has a monitor), CTXTRAIL_EVIDENCE and
// CTXTRAIL_EVIDENCE_SLOW (evidence, for the Recorder Config.Evidence makes) — are replaced by
// the file as the OTEL_* variables are: the opentelemetry.io guide to the file says "all
// environment variables are ignored unless you explicitly add them to the config file", and the
// section, or its absence, decides the setting whole. A file lets one count by naming it:
// keep.enabled takes CTXTRAIL_KEEP's words (enabled: ${CTXTRAIL_KEEP:-off}), slow_threshold a Go
// duration. Install names the variables set and not read in one warning (wrapping
// ctxtrail.ErrEnvIgnored), and Check lists them. The service's own options still win: its
// WithKeepErrorsAndSlow, or evidence options passed to Config.Evidence.
package otelconfig
