package ctxtrail_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// journal records, in order, what the hold and the exporters did.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(e string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.events...)
}

// holdAll is a SpanExportHold that holds every span until Shutdown.
type holdAll struct {
	j     *journal
	wraps int
}

func (h *holdAll) WrapProcessor(next sdktrace.SpanProcessor) sdktrace.SpanProcessor {
	h.wraps++
	return &holdAllProcessor{j: h.j, next: next}
}

type holdAllProcessor struct {
	j    *journal
	next sdktrace.SpanProcessor
	mu   sync.Mutex
	held []sdktrace.ReadOnlySpan
}

func (p *holdAllProcessor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	p.next.OnStart(ctx, s)
}
func (p *holdAllProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = append(p.held, s)
}
func (p *holdAllProcessor) ForceFlush(ctx context.Context) error { return p.next.ForceFlush(ctx) }
func (p *holdAllProcessor) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	held := p.held
	p.held = nil
	p.mu.Unlock()
	p.j.add("hold lets go")
	for _, s := range held {
		p.next.OnEnd(s)
	}
	return p.next.Shutdown(ctx)
}

type journalExporter struct {
	j    *journal
	name string
}

func (e *journalExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		e.j.add(e.name + " exports " + s.Name())
	}
	return nil
}

func (e *journalExporter) Shutdown(context.Context) error {
	e.j.add(e.name + " shuts down")
	return nil
}

// TestWithSpanExportHold: one hold sits in front of every exporting pipeline (wrapped once, so a
// span is held once for all), nothing it holds is exported before it lets go, and the
// Provider's Shutdown lets it go before the batch processors behind it stop, so the held spans
// reach every exporter.
func TestWithSpanExportHold(t *testing.T) {
	j := &journal{}
	h := &holdAll{j: j}
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithoutMetrics(),
		ctxtrail.WithExporter(&journalExporter{j, "a"}), ctxtrail.WithExporter(&journalExporter{j, "b"}),
		ctxtrail.WithSpanExportHold(h))
	if err != nil {
		t.Fatal(err)
	}
	_, s := p.Tracer("t").Start(context.Background(), "server")
	s.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := j.all(); len(got) != 0 {
		t.Fatalf("before the hold let go: %v, want nothing exported", got)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := j.all()
	want := []string{"hold lets go", "a exports server", "a shuts down", "b exports server", "b shuts down"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if h.wraps != 1 {
		t.Errorf("WrapProcessor called %d times, want once for all the pipelines", h.wraps)
	}
}
