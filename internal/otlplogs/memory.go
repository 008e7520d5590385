package otlplogs

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// MemoryExporter is an in-process sdk/log exporter for tests that check records field by field
// (trace and span IDs, severity, attributes): it keeps a copy of every record exported.
type MemoryExporter struct {
	mu   sync.Mutex
	recs []sdklog.Record
}

// Export keeps a copy of each of rs: the SDK may reuse their memory after Export returns.
func (e *MemoryExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rs {
		e.recs = append(e.recs, r.Clone())
	}
	return nil
}

// Records returns the records exported so far, in order.
func (e *MemoryExporter) Records() []sdklog.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sdklog.Record(nil), e.recs...)
}

// ByBody returns the records exported so far whose body is body, in order.
func (e *MemoryExporter) ByBody(body string) []sdklog.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []sdklog.Record
	for _, r := range e.recs {
		if r.Body().AsString() == body {
			out = append(out, r)
		}
	}
	return out
}

// Shutdown does nothing.
func (e *MemoryExporter) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (e *MemoryExporter) ForceFlush(context.Context) error { return nil }

// Attrs returns r's attributes as "key=value" text in order, and how many times each key occurs.
func Attrs(r sdklog.Record) (text []string, count map[string]int) {
	count = make(map[string]int)
	r.WalkAttributes(func(a attribute.KeyValue) bool {
		text = append(text, string(a.Key)+"="+a.Value.Emit())
		count[string(a.Key)]++
		return true
	})
	return text, count
}

// Attr returns the value of r's attribute k and whether r has it.
func Attr(r sdklog.Record, k string) (attribute.Value, bool) {
	var v attribute.Value
	found := false
	r.WalkAttributes(func(a attribute.KeyValue) bool {
		if string(a.Key) == k {
			v, found = a.Value, true
			return false
		}
		return true
	})
	return v, found
}
