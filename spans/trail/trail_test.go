package trail

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestAddBreadcrumb(t *testing.T) {
	tests := []struct {
		name      string
		withTrail bool
		withSpan  bool
		wantKept  int
		wantEvent bool
	}{
		{"trail and span", true, true, 1, true},
		{"trail only", true, false, 1, false},
		{"span only: event, nothing kept", false, true, 0, true},
		{"neither", false, false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, rec := newProvider(t)
			ctx := context.Background()
			if tt.withTrail {
				ctx = Start(ctx)
			}
			var end func()
			if tt.withSpan {
				c, s := tp.Tracer("test").Start(ctx, "op")
				ctx, end = c, func() { s.End() }
			}
			before := time.Now()
			AddBreadcrumb(ctx, "charged card", attribute.Int("cents", 1250))
			if end != nil {
				end()
			}

			got := FromContext(ctx).Breadcrumbs()
			if len(got) != tt.wantKept {
				t.Fatalf("kept %d crumbs, want %d", len(got), tt.wantKept)
			}
			if tt.wantKept > 0 {
				b := got[0]
				if b.Message != "charged card" || b.Level != LevelInfo || b.Category != DefaultCategory {
					t.Errorf("crumb = %+v, want message, info level, default category", b)
				}
				if b.Time.Before(before) || b.Time.After(time.Now()) {
					t.Errorf("crumb time %v not set to the time of the call", b.Time)
				}
				if len(b.Data) != 1 || b.Data[0] != attribute.Int("cents", 1250) {
					t.Errorf("crumb data = %v", b.Data)
				}
			}
			var events []sdktrace.Event
			for _, s := range rec.Ended() {
				events = append(events, eventsNamed(s, EventName)...)
			}
			if got := len(events) == 1; got != tt.wantEvent {
				t.Fatalf("%d breadcrumb events, want event: %v", len(events), tt.wantEvent)
			}
			if tt.wantEvent {
				want := []attribute.KeyValue{
					LevelKey.String("info"), CategoryKey.String("default"), MessageKey.String("charged card"),
					attribute.Int("cents", 1250),
				}
				if !slices.Equal(events[0].Attributes, want) {
					t.Errorf("event attributes = %v, want %v", events[0].Attributes, want)
				}
			}
		})
	}
}

func TestAddNeverPanics(t *testing.T) {
	var nilCtx context.Context
	AddBreadcrumb(nilCtx, "x") //nolint:staticcheck // a nil context must not panic
	Add(nilCtx, Breadcrumb{})
	if FromContext(nilCtx) != nil {
		t.Fatal("FromContext(nil) returned a trail")
	}
	var tr *Trail
	if tr.Len() != 0 || tr.Dropped() != 0 || tr.Breadcrumbs() != nil {
		t.Fatal("nil *Trail is not empty")
	}
	ctx := Start(nilCtx) //nolint:staticcheck // Start(nil) must give a usable context
	AddBreadcrumb(ctx, "ok")
	if FromContext(ctx).Len() != 1 {
		t.Fatal("Start(nil) gave no usable trail")
	}
	if Capture(nilCtx, fmt.Errorf("boom")) == nil { //nolint:staticcheck
		t.Fatal("Capture(nil ctx, err) returned nil")
	}
}

func TestCaps(t *testing.T) {
	sized := func(n int) Breadcrumb { // a crumb that costs exactly n bytes against the cap
		return Breadcrumb{Category: "c", Message: strings.Repeat("m", n-crumbOverhead-1)}
	}
	tests := []struct {
		name        string
		opts        []Option
		add         []Breadcrumb
		want        []int // lengths of the messages kept, oldest first
		wantDropped int
	}{
		{
			name: "count cap drops the oldest",
			opts: []Option{WithMaxBreadcrumbs(3)},
			add:  []Breadcrumb{sized(100), sized(101), sized(102), sized(103), sized(104)},
			want: []int{102, 103, 104}, wantDropped: 2,
		},
		{
			name: "byte cap drops the oldest until the new crumb fits",
			opts: []Option{WithMaxBytes(300)},
			add:  []Breadcrumb{sized(100), sized(100), sized(100), sized(150)},
			want: []int{100, 150}, wantDropped: 2,
		},
		{
			name: "a crumb bigger than the byte cap is dropped alone",
			opts: []Option{WithMaxBytes(300)},
			add:  []Breadcrumb{sized(100), sized(301), sized(100)},
			want: []int{100, 100}, wantDropped: 1,
		},
		{
			name: "default count cap is 100",
			add:  repeatCrumb(sized(80), 130),
			want: repeatInt(80, DefaultMaxBreadcrumbs), wantDropped: 30,
		},
		{
			name: "default byte cap holds",
			add:  repeatCrumb(sized(1000), 100),
			want: repeatInt(1000, DefaultMaxBytes/1000), wantDropped: 100 - DefaultMaxBytes/1000,
		},
		{
			name: "0 crumbs disables keeping",
			opts: []Option{WithMaxBreadcrumbs(0)},
			add:  []Breadcrumb{sized(100), sized(100)},
		},
		{
			name: "0 bytes disables keeping",
			opts: []Option{WithMaxBytes(0)},
			add:  []Breadcrumb{sized(100)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, rec := newProvider(t)
			ctx, span := tp.Tracer("test").Start(Start(context.Background(), tt.opts...), "op")
			for _, b := range tt.add {
				Add(ctx, b)
			}
			span.End()
			tr := FromContext(ctx)
			got := tr.Breadcrumbs()
			lens := make([]int, len(got))
			for i, b := range got {
				lens[i] = crumbSize(b)
			}
			if !slices.Equal(lens, tt.want) && !(len(lens) == 0 && len(tt.want) == 0) {
				t.Errorf("kept crumbs of sizes %v, want %v", lens, tt.want)
			}
			if tr.Dropped() != tt.wantDropped {
				t.Errorf("Dropped() = %d, want %d", tr.Dropped(), tt.wantDropped)
			}
			if tr.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", tr.Len(), len(tt.want))
			}
			// Caps bound what the trail keeps, never the span events (the SDK keeps 128).
			if n, want := len(eventsNamed(rec.Ended()[0], EventName)), min(len(tt.add), 128); n != want {
				t.Errorf("%d span events, want one per crumb added (%d)", n, want)
			}
		})
	}
}

func repeatCrumb(b Breadcrumb, n int) []Breadcrumb {
	out := make([]Breadcrumb, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func repeatInt(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestRingOrderAcrossWraps(t *testing.T) {
	ctx := Start(context.Background(), WithMaxBreadcrumbs(5))
	for i := range 23 {
		AddBreadcrumb(ctx, fmt.Sprint(i))
	}
	want := []string{"18", "19", "20", "21", "22"}
	if got := messages(FromContext(ctx).Breadcrumbs()); !slices.Equal(got, want) {
		t.Fatalf("crumbs = %v, want %v", got, want)
	}
}

func TestBound(t *testing.T) {
	long := strings.Repeat("é", MaxMessageLen) // 2 bytes a rune: cut in the middle of one
	data := make([]attribute.KeyValue, 0, MaxData+5)
	data = append(data, attribute.String("long", long), attribute.String("", "invalid key"), attribute.String("bad", "a\xffb"))
	for i := len(data); i < MaxData+5; i++ {
		data = append(data, attribute.Int(fmt.Sprint("k", i), i))
	}
	ctx := Start(context.Background())
	Add(ctx, Breadcrumb{Message: long + "\xff", Category: long, Data: data})
	b := FromContext(ctx).Breadcrumbs()[0]

	for name, s := range map[string]string{"message": b.Message, "category": b.Category, "data": b.Data[0].Value.AsString()} {
		if len(s) > MaxMessageLen || !utf8.ValidString(s) {
			t.Errorf("%s: %d bytes, valid UTF-8 %v; want at most %d valid bytes", name, len(s), utf8.ValidString(s), MaxMessageLen)
		}
	}
	if len(b.Data) != MaxData {
		t.Errorf("%d data attributes kept, want %d", len(b.Data), MaxData)
	}
	if b.Data[1] != attribute.String("bad", "a\uFFFDb") {
		t.Errorf("invalid key not dropped or bad UTF-8 not fixed: %v", b.Data[1])
	}
}

func TestBeforeBreadcrumb(t *testing.T) {
	scrub := func(_ context.Context, b Breadcrumb) (Breadcrumb, bool) {
		if b.Category == "noisy" {
			return b, false
		}
		for i, kv := range b.Data {
			if kv.Key == "password" {
				b.Data[i] = attribute.String("password", "[redacted]")
			}
		}
		b.Message = strings.ReplaceAll(b.Message, "hunter2", "[redacted]")
		return b, true
	}
	tp, rec := newProvider(t)
	ctx, span := tp.Tracer("test").Start(Start(context.Background(), WithBeforeBreadcrumb(scrub)), "op")
	callerData := []attribute.KeyValue{attribute.String("user", "ada"), attribute.String("password", "hunter2")}
	AddBreadcrumb(ctx, "login with hunter2", callerData...)
	Add(ctx, Breadcrumb{Category: "noisy", Message: "tick"})
	span.End()

	if callerData[1].Value.AsString() != "hunter2" {
		t.Error("the filter changed the caller's data slice")
	}
	got := FromContext(ctx).Breadcrumbs()
	if len(got) != 1 {
		t.Fatalf("kept %v, want only the login crumb (the noisy one filtered out)", messages(got))
	}
	if got[0].Message != "login with [redacted]" || got[0].Data[1].Value.AsString() != "[redacted]" {
		t.Errorf("kept crumb not scrubbed: %+v", got[0])
	}
	if FromContext(ctx).Dropped() != 0 {
		t.Error("a filtered crumb was counted as dropped")
	}
	events := eventsNamed(rec.Ended()[0], EventName)
	if len(events) != 1 {
		t.Fatalf("%d span events, want 1: filtered crumbs must not reach the span", len(events))
	}
	for _, kv := range events[0].Attributes {
		if strings.Contains(kv.Value.String(), "hunter2") {
			t.Errorf("secret reached the span event: %v", kv)
		}
	}
}

func TestCallerDataCopied(t *testing.T) {
	ctx := Start(context.Background())
	data := []attribute.KeyValue{attribute.String("k", "v1")}
	AddBreadcrumb(ctx, "x", data...)
	data[0] = attribute.String("k", "changed")
	got := FromContext(ctx).Breadcrumbs()
	got[0].Data[0] = attribute.String("k", "changed by reader")
	if v := FromContext(ctx).Breadcrumbs()[0].Data[0].Value.AsString(); v != "v1" {
		t.Fatalf("kept data = %q, want v1: data must be copied in and out", v)
	}
}

func TestConcurrentAdd(t *testing.T) {
	const goroutines, each, limit = 16, 50, 100
	ctx := Start(context.Background(), WithMaxBreadcrumbs(limit))
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				AddBreadcrumb(ctx, fmt.Sprintf("g%d-%d", g, i))
			}
		})
	}
	wg.Wait()
	tr := FromContext(ctx)
	if tr.Len() != limit || tr.Dropped() != goroutines*each-limit {
		t.Fatalf("Len %d Dropped %d, want %d and %d", tr.Len(), tr.Dropped(), limit, goroutines*each-limit)
	}
	// Each goroutine's surviving crumbs are in its own order.
	last := map[string]int{}
	for _, m := range messages(tr.Breadcrumbs()) {
		var g, i int
		if _, err := fmt.Sscanf(m, "g%d-%d", &g, &i); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint(g)
		if prev, ok := last[key]; ok && i <= prev {
			t.Fatalf("goroutine %d's crumbs out of order: %d after %d", g, i, prev)
		}
		last[key] = i
	}
}

func TestTasksAddToTheirRequestsTrail(t *testing.T) {
	tp, rec := newProvider(t)
	tracer := tp.Tracer("test")
	reqA, spanA := tracer.Start(Start(context.Background()), "request A")
	reqB, spanB := tracer.Start(Start(context.Background()), "request B")

	g, _ := spans.NewGroup(reqA)
	for i := range 3 {
		g.Go(fmt.Sprint("a-task-", i), func(ctx context.Context) error {
			AddBreadcrumb(ctx, fmt.Sprint("a-", i))
			return nil
		})
	}
	taskB := spans.Go(reqB, "b-task", func(ctx context.Context) error {
		AddBreadcrumb(ctx, "b-0")
		return nil
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := taskB.Wait(); err != nil {
		t.Fatal(err)
	}
	spanA.End()
	spanB.End()

	gotA := messages(FromContext(reqA).Breadcrumbs())
	slices.Sort(gotA)
	if want := []string{"a-0", "a-1", "a-2"}; !slices.Equal(gotA, want) {
		t.Errorf("request A's trail = %v, want %v", gotA, want)
	}
	if got := messages(FromContext(reqB).Breadcrumbs()); !slices.Equal(got, []string{"b-0"}) {
		t.Errorf("request B's trail = %v, want [b-0]", got)
	}
	for _, s := range rec.Ended() {
		n := len(eventsNamed(s, EventName))
		if strings.HasPrefix(s.Name(), "request") && n != 0 || strings.Contains(s.Name(), "task") && n != 1 {
			t.Errorf("span %q has %d breadcrumb events; want each task's crumb on the task's span", s.Name(), n)
		}
	}
}

func TestAddFieldsReachOuterReports(t *testing.T) {
	sink := NewMemorySink(4)
	outer := otelctx.AddFields(Start(context.Background(), WithSink(sink)),
		attribute.String("url.path", "/cart"), attribute.String("http.request.method", "POST"))
	inner := AddFields(outer, attribute.String("user.id", "u-42"), attribute.String("tenant", "t-1"))

	if v, ok := otelctx.FieldsFrom(inner).Get("tenant"); !ok || v.AsString() != "t-1" {
		t.Fatal("trail.AddFields did not add to the request store")
	}
	r := Capture(outer, fmt.Errorf("boom"))
	want := []attribute.KeyValue{
		attribute.String("http.request.method", "POST"),
		attribute.String("url.path", "/cart"),
		attribute.String("user.id", "u-42"),
	}
	if !slices.Equal(r.Context, want) {
		t.Fatalf("report context = %v, want %v (user.id from the inner AddFields; tenant not a report key)", r.Context, want)
	}
}

func TestLevelText(t *testing.T) {
	for l := LevelDebug; l <= LevelFatal; l++ {
		b, err := l.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Level
		if err := back.UnmarshalText(b); err != nil || back != l {
			t.Errorf("%v round-tripped to %v, %v", l, back, err)
		}
	}
	var l Level
	if err := l.UnmarshalText([]byte("loud")); err == nil {
		t.Error("unknown level accepted")
	}
	if Level(0).String() != "info" || Level(99).String() != "Level(99)" {
		t.Error("unset or unknown level misnamed")
	}
}
