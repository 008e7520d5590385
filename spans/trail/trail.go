package trail

import (
	"context"
	"sync"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
)

// trailKey is the context key of the request's trail. It is a type of this package's own, not an
// otelctx.Key, so that the middleware's request node (middleware.go) can answer it.
type trailKey struct{}

// Trail is the breadcrumbs of one request: a bounded ring, oldest dropped first, safe for
// concurrent use by every goroutine of the request. A nil *Trail is valid: it holds nothing.
type Trail struct {
	cfg *config

	mu      sync.Mutex
	buf     []entry // a ring: the oldest crumb at head, n crumbs
	head    int
	n       int
	bytes   int
	dropped int
	fields  []attribute.KeyValue // set by AddFields; only keys the reports read
}

type entry struct {
	b    Breadcrumb
	size int
}

// Start returns a copy of ctx holding a new, empty trail configured by opts: call it at the
// start of a request (NewHandler does). Breadcrumbs added with any context derived from the
// result, in any goroutine, go to this trail; a trail already in ctx is hidden, not changed.
func Start(ctx context.Context, opts ...Option) context.Context {
	return start(ctx, newConfig(opts))
}

func start(ctx context.Context, cfg *config) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, trailKey{}, &Trail{cfg: cfg})
}

// FromContext returns the trail in ctx, or nil when there is none (a nil *Trail is valid).
func FromContext(ctx context.Context) *Trail {
	if ctx == nil {
		return nil
	}
	t, _ := ctx.Value(trailKey{}).(*Trail)
	return t
}

// AddFields is otelctx.AddFields that also tells the trail in ctx about the fields a report
// reads (see WithFieldKeys). A report captured from an outer context of the request, as the
// panic middleware's is, then still carries, say, the user id that an inner handler set after
// authentication.
func AddFields(ctx context.Context, kvs ...attribute.KeyValue) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if t := FromContext(ctx); t != nil {
		t.setFields(kvs)
	}
	return otelctx.AddFields(ctx, kvs...)
}

// Breadcrumbs returns a copy of the crumbs the trail holds, oldest first.
func (t *Trail) Breadcrumbs() []Breadcrumb {
	crumbs, _ := t.snapshot()
	return crumbs
}

// snapshot returns a copy of the crumbs and the drop count, read together.
func (t *Trail) snapshot() ([]Breadcrumb, int) {
	if t == nil {
		return nil, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return nil, t.dropped
	}
	out := make([]Breadcrumb, t.n)
	for i := range out {
		b := t.buf[(t.head+i)%len(t.buf)].b
		b.Data = append([]attribute.KeyValue(nil), b.Data...)
		out[i] = b
	}
	return out, t.dropped
}

// Len returns how many crumbs the trail holds.
func (t *Trail) Len() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// Dropped returns how many crumbs the trail's count and byte caps have dropped. Crumbs that the
// BeforeBreadcrumb filter drops, or that a trail keeping none never kept, are not counted.
func (t *Trail) Dropped() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}

// keeps reports whether the trail keeps crumbs at all.
func (t *Trail) keeps() bool {
	return t != nil && t.cfg.maxCrumbs > 0 && t.cfg.maxBytes > 0
}

func (t *Trail) add(b Breadcrumb) {
	size := crumbSize(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	if size > t.cfg.maxBytes {
		t.dropped++
		crumbsDropped.Add(1) // metrics.go
		return
	}
	for t.n > 0 && (t.n >= t.cfg.maxCrumbs || t.bytes+size > t.cfg.maxBytes) {
		old := &t.buf[t.head]
		t.bytes -= old.size
		*old = entry{} // let the crumb's data go
		t.head = (t.head + 1) % len(t.buf)
		t.n--
		t.dropped++
		crumbsDropped.Add(1)
	}
	if t.n == len(t.buf) {
		t.grow()
	}
	t.buf[(t.head+t.n)%len(t.buf)] = entry{b: b, size: size}
	t.n++
	t.bytes += size
}

// grow enlarges the ring, doubling up to the count cap, so a short request never pays for a
// hundred slots.
func (t *Trail) grow() {
	c := min(max(8, 2*len(t.buf)), t.cfg.maxCrumbs)
	buf := make([]entry, c)
	for i := 0; i < t.n; i++ {
		buf[i] = t.buf[(t.head+i)%len(t.buf)]
	}
	t.buf, t.head = buf, 0
}

func (t *Trail) setFields(kvs []attribute.KeyValue) {
	t.mu.Lock()
	defer t.mu.Unlock()
outer:
	for _, kv := range kvs {
		if !kv.Valid() || !containsKey(t.cfg.fieldKeys, kv.Key) {
			continue
		}
		for i := range t.fields {
			if t.fields[i].Key == kv.Key {
				t.fields[i] = kv
				continue outer
			}
		}
		t.fields = append(t.fields, kv) // bounded: one per key of cfg.fieldKeys
	}
}

// fieldSnapshot returns a copy of the fields set through AddFields.
func (t *Trail) fieldSnapshot() []attribute.KeyValue {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]attribute.KeyValue(nil), t.fields...)
}
