package trailzap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// awkward holds what JSON encoders disagree on: HTML characters, quotes and backslashes,
// control characters, invalid UTF-8, line and paragraph separators, and non-ASCII text.
const awkward = "<a href=\"x\">&amp;</a> \\ \x00\x01\x1f\x7f \n\r\t \xff\xfe \u2028\u2029 é 日本 🙂"

// parityReports are the reports whose zap object and JSON must match byte for byte.
func parityReports() map[string]*trail.Report {
	at := time.Date(2025, 3, 1, 12, 0, 0, 5, time.FixedZone("CET", 3600))
	return map[string]*trail.Report{
		"minimal": {ID: "x", Time: at, Message: "m"},
		"zero":    {},
		"full": {
			ID: "0af7651916cd43dd8448eb211c80319c", Time: at, Message: "checkout: card declined", Panic: true,
			Errors:      []trail.ErrorInfo{{Type: "*fmt.wrapError", Message: "checkout: card declined"}, {Type: "*errors.errorString", Message: "card declined", Depth: 1}},
			Truncated:   true,
			StackSource: trail.StackFromCapture,
			Stack:       []trail.Frame{{Function: "main.checkout", File: "/app/main.go", Line: 42}, {Function: "main.main", File: "/app/main.go", Line: 7}},
			TraceID:     "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", RequestID: "req-1",
			Context: []attribute.KeyValue{attribute.String("url.path", "/pay"), attribute.Int("n", -3), attribute.Bool("b", true),
				attribute.Float64("f", 1.5), attribute.StringSlice("ss", []string{"a", ""}), attribute.Int64Slice("is", []int64{1, math.MinInt64}),
				attribute.BoolSlice("bs", []bool{true, false}), attribute.Float64Slice("fs", []float64{0.5, 1e21}),
				attribute.StringSlice("empty", nil)},
			Breadcrumbs: []trail.Breadcrumb{
				{Time: at, Level: trail.LevelWarning, Category: "http", Message: "retry", Data: []attribute.KeyValue{attribute.Int("attempt", 2)}},
				{Time: at, Message: "no level, no data"},
			},
			BreadcrumbsDropped: 4,
			Err:                errors.New("not in the JSON"),
		},
		"awkward strings": {
			ID: awkward, Time: at, Message: awkward, StackSource: awkward,
			Errors:  []trail.ErrorInfo{{Type: awkward, Message: awkward, Depth: 2}},
			Stack:   []trail.Frame{{Function: awkward, File: awkward, Line: -1}},
			TraceID: awkward, RequestID: awkward,
			Context:     []attribute.KeyValue{attribute.String(awkward, awkward), attribute.StringSlice("s", []string{awkward})},
			Breadcrumbs: []trail.Breadcrumb{{Time: at, Level: trail.LevelFatal, Category: awkward, Message: awkward, Data: []attribute.KeyValue{attribute.String(awkward, awkward)}}},
		},
		"awkward numbers": {
			ID: "n", Time: time.Time{},
			Context: []attribute.KeyValue{attribute.Float64("nan", math.NaN()), attribute.Float64("inf", math.Inf(1)),
				attribute.Float64("-inf", math.Inf(-1)), attribute.Float64("negzero", math.Copysign(0, -1)),
				attribute.Float64("tiny", 5e-324), attribute.Float64("max", math.MaxFloat64),
				attribute.Float64Slice("fs", []float64{math.NaN(), math.Inf(-1), 0.1}), attribute.Int64("min", math.MinInt64)},
			Breadcrumbs:        []trail.Breadcrumb{{Level: trail.Level(99)}},
			BreadcrumbsDropped: math.MaxInt,
		},
	}
}

// zapJSON is what zap's JSON encoder writes for m's fields alone, without a line ending.
func zapJSON(t *testing.T, m zapcore.ObjectMarshaler) []byte {
	t.Helper()
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{}) // no level, time or message keys
	buf, err := enc.EncodeEntry(zapcore.Entry{}, []zapcore.Field{zap.Inline(m)})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Free()
	return bytes.TrimSuffix(append([]byte(nil), buf.Bytes()...), []byte("\n"))
}

// TestObjectsMatchTheJSON: trail writes a report's JSON by hand and this package writes the same
// report into zap; the two must be the same bytes, or log lines and JSON drift apart.
func TestObjectsMatchTheJSON(t *testing.T) {
	for name, r := range parityReports() {
		t.Run(name, func(t *testing.T) {
			want, err := r.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if got := zapJSON(t, ReportObject(r)); !bytes.Equal(got, want) {
				t.Errorf("report:\nzap  %s\njson %s", got, want)
			}
			if !json.Valid(want) {
				t.Errorf("invalid JSON: %s", want)
			}
			for _, b := range r.Breadcrumbs {
				want, _ := b.MarshalJSON()
				if got := zapJSON(t, BreadcrumbObject(b)); !bytes.Equal(got, want) {
					t.Errorf("breadcrumb:\nzap  %s\njson %s", got, want)
				}
			}
			for _, f := range r.Stack {
				want, _ := f.MarshalJSON()
				if got := zapJSON(t, FrameObject(f)); !bytes.Equal(got, want) {
					t.Errorf("frame:\nzap  %s\njson %s", got, want)
				}
			}
			for _, e := range r.Errors {
				// ErrorInfo's JSON is encoding/json's, which escapes differently: compare values.
				want, _ := json.Marshal(e)
				if got := zapJSON(t, ErrorInfoObject(e)); !sameJSON(t, got, want) {
					t.Errorf("error info:\nzap  %s\njson %s", got, want)
				}
			}
		})
	}
}

// TestLogSinkLineMatchesTheJSON: the fields of a LogSink line, read back, are those of the
// report's JSON, read back, for every awkward report.
func TestLogSinkLineMatchesTheJSON(t *testing.T) {
	reports := parityReports()
	var out lockedBuffer
	sink := NewLogSink(jsonLogger(&out))
	var order []*trail.Report
	for _, r := range reports {
		sink.Send(context.Background(), r)
		order = append(order, r)
	}
	if err := sink.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := out.lines()
	if len(lines) != len(order) {
		t.Fatalf("%d lines for %d reports", len(lines), len(order))
	}
	for i, r := range order {
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatalf("%v in %s", err, lines[i])
		}
		for _, k := range []string{"level", "ts", "msg"} {
			delete(line, k)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(line, want) {
			t.Errorf("report %q: line fields differ from the JSON:\nline %s\njson %s", r.ID, lines[i], b)
		}
	}
}

func TestReportObjectNil(t *testing.T) {
	if got := zapJSON(t, ReportObject(nil)); string(got) != "{}" {
		t.Errorf("nil report = %s, want {}", got)
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v in %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}
