package otlplogs

import (
	"context"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// KeysExporter is an in-process sdk/log exporter for tests of attribute order and duplicate
// keys: it keeps each exported record's attributes as "key=value" text, in order, by body.
type KeysExporter struct {
	mu   sync.Mutex
	recs map[string]string // body → attributes
}

// Export records rs.
func (e *KeysExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.recs == nil {
		e.recs = make(map[string]string)
	}
	for _, r := range rs {
		var kv []string
		r.WalkAttributes(func(a attribute.KeyValue) bool { kv = append(kv, string(a.Key)+"="+a.Value.Emit()); return true })
		e.recs[r.Body().AsString()] = strings.Join(kv, " ")
	}
	return nil
}

// Attributes returns the attributes of the last record exported with body, as "k=v k=v".
func (e *KeysExporter) Attributes(body string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.recs[body]
}

// Shutdown does nothing.
func (e *KeysExporter) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (e *KeysExporter) ForceFlush(context.Context) error { return nil }
