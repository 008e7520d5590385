package trail

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelctx/waterfall"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestWaterfallSink(t *testing.T) {
	var out syncBuf
	printer := waterfall.New(&out)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(printer))
	defer tp.Shutdown(context.Background())
	mem := NewMemorySink(10)

	ctx, root := tp.Tracer("t").Start(context.Background(), "request")
	var none *waterfall.Printer // Provider.Waterfall() when the waterfall was not chosen
	ctx = Start(ctx, WithSink(Sinks(nil, mem, NewWaterfallSink(printer), NewWaterfallSink(nil), NewWaterfallSink(none))))
	Capture(ctx, errors.New("no crumbs yet"))
	AddBreadcrumb(ctx, "cart loaded")
	AddBreadcrumb(ctx, "charging")
	Capture(ctx, errors.New("card declined"))
	Capture(context.Background(), errors.New("outside any trace")) // no trail, no sink: nothing
	root.End()
	if err := printer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := out.b.String()
	for _, want := range []string{
		"error  error report: no crumbs yet  stack=capture breadcrumbs=none",
		`error  error report: card declined  stack=capture breadcrumbs="cart loaded → charging"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "breadcrumbs: )") || len(mem.Reports()) != 2 {
		t.Errorf("%d reports in the other sink; output:\n%s", len(mem.Reports()), got)
	}
}

func TestCrumbPathKeepsTheLatest(t *testing.T) {
	var crumbs []Breadcrumb
	for _, m := range strings.Fields("a b c d e f g h i j") {
		crumbs = append(crumbs, Breadcrumb{Message: m})
	}
	if got, want := crumbPath(crumbs, 0), "… → c → d → e → f → g → h → i → j"; got != want {
		t.Errorf("crumbPath = %q, want %q", got, want)
	}
	if got, want := crumbPath(crumbs[:1], 3), "… → a"; got != want {
		t.Errorf("crumbPath with drops = %q, want %q", got, want)
	}
}
