package baggage

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// view renders a baggage as sorted "key=value;prop;prop=value" lines with decoded values, so
// tests compare what a program sees rather than one encoding of it.
func view(b otelbaggage.Baggage) []string {
	var out []string
	for _, m := range b.Members() {
		var sb strings.Builder
		sb.WriteString(m.Key() + "=" + m.Value())
		for _, p := range m.Properties() {
			sb.WriteString(";" + p.Key())
			if v, ok := p.Value(); ok {
				sb.WriteString("=" + v)
			}
		}
		out = append(out, sb.String())
	}
	slices.Sort(out)
	return out
}

// extract runs p.Extract over a header holding the given baggage fields.
func extract(p propagation.TextMapPropagator, fields ...string) otelbaggage.Baggage {
	h := http.Header{}
	for _, f := range fields {
		h.Add("Baggage", f)
	}
	return otelbaggage.FromContext(p.Extract(context.Background(), propagation.HeaderCarrier(h)))
}

// collect is an error handler that keeps what it is given.
type collect struct{ errs []error }

func (c *collect) handle(err error) { c.errs = append(c.errs, err) }

// ctxWith returns a context whose baggage holds the given key=value pairs (raw values).
func ctxWith(t testing.TB, kv ...string) context.Context {
	t.Helper()
	var ms []otelbaggage.Member
	for i := 0; i+1 < len(kv); i += 2 {
		m, err := otelbaggage.NewMemberRaw(kv[i], kv[i+1])
		if err != nil {
			t.Fatalf("NewMemberRaw(%q, %q): %v", kv[i], kv[i+1], err)
		}
		ms = append(ms, m)
	}
	b, err := otelbaggage.New(ms...)
	if err != nil {
		t.Fatalf("baggage.New: %v", err)
	}
	return otelbaggage.ContextWithBaggage(context.Background(), b)
}
