// Package spans is the async_hooks of ctxtrail: helpers that run work under spans, lifecycle
// hooks on every span, and a live monitor of the spans in flight. In Go a span is the "async
// resource" of Node: it is created (init), its callback runs (before, after) and it ends
// (destroy); its parent span is the triggerAsyncId.
//
// # Running work under spans
//
// Run starts a child of the span in the context, calls a function with the new span in its
// context, records the function's error (or panic, which then goes on) and ends the span.
// RunValue does the same for a function that returns a value. Go is the async task: the span
// starts in the caller and the function runs in a new goroutine under it, so work started by a
// request keeps its trace; a panic there is recovered, recorded and returned by Task.Wait, never
// lost. A Group waits for many tasks, bounds how many run at once (WithLimit) and cancels the
// rest when one fails.
//
//	err := spans.Run(ctx, "load user", func(ctx context.Context) error {
//		return db.QueryRowContext(ctx, q, id).Scan(&u.Name)
//	})
//
// IDsFrom, TraceID, SpanID and ParentSpanID read the identifiers of the span in a context.
//
// # Lifecycle hooks
//
// Hooks is a struct of four funcs, Init, Before, After and Destroy, any of them nil, in the
// shape of net/http/httptrace.ClientTrace. A Processor, an sdktrace.SpanProcessor registered
// with the tracer provider, fires them: Init when a span starts, Destroy when it ends, and
// Before and After around the function that Run, RunValue and Go run under a span it saw start.
// So for Run and Go the order is init → before → after → destroy; a span started any other way
// (otelhttp, a plain tracer.Start) gets init and destroy only.
//
//	p := spans.NewProcessor()
//	remove := p.AddHooks(spans.Hooks{
//		Destroy: func(d spans.DestroyInfo) { latency.Record(d.Type(), d.Duration()) },
//	})
//	provider, err := ctxtrail.Install(ctx, ctxtrail.WithSpanProcessor(p))
//
// Hooks are added and removed, and the processor enabled and disabled, at any time; the span
// path reads one atomic pointer and never locks, so a disabled processor, or hooks that have
// nothing to do, cost a few nanoseconds a span and no allocation.
//
// # Monitor
//
// Monitor is a second span processor that keeps live counts (created, ended, active; overall,
// by kind, by name), the list of active spans with their age, trace and parent, and reports the
// spans active past a threshold as probable leaks, through WithLeakCallback and on its page. It
// serves JSON and a small HTML page as an http.Handler, like OpenTelemetry's zpages tracez, and
// can log its counts periodically (WithStatsLogger). Its memory is bounded however many spans
// leak: a capped active list (the spans past the cap count in "(untracked)" rows), a capped
// set of names. A span counts under the name it has at the moment it is read, so a request in
// flight shows under its route as soon as the route is known: from the server span's start
// when httpctx.NewHandler wraps a ServeMux (directly or through trail.NewHandler), from
// otelctx.SetRoute's call for other routers. Given to ctxtrail.WithSpanProcessor, the monitor
// also shows what became of the ended spans (exported, dropped, failed; see SetExportStats).
//
//	mon := spans.NewMonitor(spans.WithLeakThreshold(30*time.Second))
//	provider, err := ctxtrail.Install(ctx,
//		ctxtrail.WithSpanProcessor(p), ctxtrail.WithSpanProcessor(mon),
//		ctxtrail.WithSampler(mon.Sampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1)))))
//	debugMux.Handle(otelctx.MonitorPath, mon) // "/debug/ctxtrail", never traced by httpctx.NewHandler
//
// # The latency table
//
// The Monitor also keeps, for every request it sees end, a latency table: one row per route
// (a server span's name, which httpctx.NewHandler sets to the method and the ServeMux pattern,
// "GET /items/{id}") and per name of other local root spans (a span without a parent in this
// process: a job, a consumer), with the request rate, error count and rate (span status Error),
// p50, p95 and p99 over the last minute and the last ten minutes, and its impact: its share of
// all the time spent in requests (latency x rate). Child spans make no rows: they are in their
// request's waterfall. Latency reads it (RouteLatency); the page and its JSON show it, live.
//
// Percentiles come from log-linear histograms (32 buckets per power of two) and are within
// 1/64 (1.6 %) of the exact nearest-rank percentile of the same data; the tests hold them to
// 2 %. A window is a ring of per-interval histograms: the last minute is 6 slots of 10 s (50 to
// 60 s of data), the last ten minutes 10 slots of 1 min. Recording a request is a few atomic adds,
// with no lock and no allocation once its route has a row; the request that becomes an example
// also pays for finding its spans, about 7 µs (benchmarks/results/monitor.md).
//
// For each route, coarse latency bucket (the page's distribution: under 100 µs, 100–250 µs, …,
// 10 s and over) and outcome (ok, failed), the Monitor keeps up to two example requests, at most
// one a second, and the spans of their traces, gathered when the request ends from a ring of the
// spans that ended last. The page links each bucket and each error count to an example, which
// opens as that request's waterfall (otelctx/waterfall.RenderHTML) with its log lines (the
// span events zapbridge and slogbridge mirror with WithSpanEvents), breadcrumbs (spans/trail)
// and recorded errors. WithJaegerUI, or the CTXTRAIL_JAEGER_UI_URL environment variable, links
// trace IDs to a Jaeger UI as well. Beside the requests the page shows the runtime, read from
// runtime/metrics: goroutines (running, runnable, waiting, not in Go), GC pauses and scheduling
// latency over the last minute, the heap. WithMonitorSection adds another package's table.
//
// # Bounds
//
// Everything the Monitor keeps is bounded, whatever the traffic:
//
//   - active list: WithMaxTracked spans (DefaultMaxTracked, 10,000); past it, counted in
//     "(untracked)";
//   - names with counters: WithMaxNames (1,000); later names share "(other)";
//   - latency rows: WithMaxRoutes (DefaultMaxRoutes, 100), about 70 KiB of histograms each (7 MiB
//     at the cap), made when a route is first seen; requests of later routes count in one
//     "(other)" row;
//   - recent spans, where an example's spans are looked for: WithRecentSpans (4,096), split
//     among the shards; a request whose first spans ended more than that many spans before its
//     root ends misses them, and its waterfall shows what was found;
//   - example requests with their spans: WithKeptTraces (128), each up to 128 spans (the rest
//     counted in the waterfall's header); failed and slow requests push fast ones out first, an
//     example older than ten minutes goes first of all;
//   - runtime snapshots: six at most, one per 10 s; a section: 500 rows of 32 columns.
//
// WithoutLatency turns the latency table, its examples and the recent spans off.
//
// # Serving the page safely
//
// ServeHTTP answers GET and HEAD only. The page shows nothing but this process's own telemetry,
// and span names and log lines are input: the page writes them with html/template and, when it
// refreshes, as text (textContent), never as markup, and links only to its own ?trace=<hex> pages
// and to an http or https Jaeger URL. It loads nothing from elsewhere: its script and styles are
// in the page. Still, span names, routes and log lines can say more than the public should know:
// mount it on an internal port, or behind the service's own authentication (the README shows
// both). httpctx.NewHandler never traces requests for otelctx.MonitorPath, so the page's own
// refreshes are neither rows of the table nor spans.
//
// # Sampled-out spans
//
// The OpenTelemetry SDK calls span processors for recording spans only. A span the sampler
// drops is never started as far as a processor is concerned: no Init, no Destroy, not counted
// by the Monitor's created/ended/active. Before and After still run around the function of Run
// and Go only if a processor saw the span start, so they do not fire for dropped spans either.
// To count what the sampler drops, wrap it with Monitor.Sampler: the drops then show as
// "sampled out", by name and kind. To wrap whatever sampler ctxtrail.Install picks, the one
// OTEL_TRACES_SAMPLER names included (jaeger_remote and parentbased_jaeger_remote, whose rate
// Jaeger sets, with jaegerremote.Enable()), give the wrapper to Install rather than a sampler:
//
//	ctxtrail.Install(ctx, ctxtrail.WithSpanProcessor(mon), ctxtrail.WithSamplerWrapper(mon.Sampler))
//
// # Goroutines
//
// Go and Group.Go start one goroutine per task, which ends when the task's function returns.
// A Monitor with a leak callback or a stats logger runs one goroutine, stopped by its Shutdown
// (which the tracer provider calls from its own). Nothing else in the package starts one.
package spans
