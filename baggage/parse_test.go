package baggage

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ctxtrail/ctxtrail/internal/race"
	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"
	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
)

// w3cPercentValue is the value of the W3C suite's percent-encoding tests, and w3cPercentEncoded
// the encoding the suite builds with Python's urllib.parse.quote.
const (
	w3cPercentValue   = "\t \"';=asdf!@#$%^&*()"
	w3cPercentEncoded = "%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29"
)

// TestW3CVectors ports the test vectors of the W3C Baggage suite (w3c/baggage, test/) and the
// examples of the header format: whitespace around '=', ';' and ',', properties with and
// without values, '=' inside values, percent-encoding, several header fields. Each vector goes
// through Propagator and, to show where they agree, through the SDK's propagation.Baggage.
func TestW3CVectors(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		want   []string // view() of the result
	}{
		{"simple", []string{"SomeKey=SomeValue"}, []string{"SomeKey=SomeValue"}},
		{"multiple", []string{"SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;ValueProp=PropVal"},
			[]string{"SomeKey2=SomeValue2;ValueProp=PropVal", "SomeKey=SomeValue;SomeProp"}},
		{"multiple OWS", []string{"SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t ValueProp \t = \t PropVal"},
			[]string{"SomeKey2=SomeValue2;ValueProp=PropVal", "SomeKey=SomeValue;SomeProp"}},
		{"multiple kv property", []string{"SomeKey=SomeValue;SomePropKey=SomePropValue,SomeKey2=SomeValue2;SomePropKey2=SomePropValue2"},
			[]string{"SomeKey2=SomeValue2;SomePropKey2=SomePropValue2", "SomeKey=SomeValue;SomePropKey=SomePropValue"}},
		{"multiple kv property OWS", []string{"SomeKey \t = \t SomeValue \t ; \t SomePropKey=SomePropValue \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t SomePropKey2 \t = \t SomePropValue2"},
			[]string{"SomeKey2=SomeValue2;SomePropKey2=SomePropValue2", "SomeKey=SomeValue;SomePropKey=SomePropValue"}},
		{"multiple equals", []string{"SomeKey=SomeValue=equals"}, []string{"SomeKey=SomeValue=equals"}},
		{"percent encoded", []string{"SomeKey=" + w3cPercentEncoded}, []string{"SomeKey=" + w3cPercentValue}},
		{"property", []string{"SomeKey=SomeValue;SomeProp"}, []string{"SomeKey=SomeValue;SomeProp"}},
		{"multi property", []string{"SomeKey=SomeValue;SomeProp;SecondProp=PropValue"},
			[]string{"SomeKey=SomeValue;SomeProp;SecondProp=PropValue"}},
		{"kv property", []string{"SomeKey=SomeValue;SomePropKey=SomePropValue"}, []string{"SomeKey=SomeValue;SomePropKey=SomePropValue"}},
		{"simple OWS", []string{"SomeKey \t = \t SomeValue \t "}, []string{"SomeKey=SomeValue"}},
		{"percent encoded OWS", []string{"SomeKey \t = \t " + w3cPercentEncoded + " \t "}, []string{"SomeKey=" + w3cPercentValue}},
		{"property OWS", []string{"SomeKey \t = \t SomeValue \t ; \t SomeProp"}, []string{"SomeKey=SomeValue;SomeProp"}},
		{"multi property OWS", []string{"SomeKey \t = \t SomeValue \t ; \t SomeProp \t ; \t SecondProp \t = \t PropValue"},
			[]string{"SomeKey=SomeValue;SomeProp;SecondProp=PropValue"}},
		{"kv property OWS", []string{"SomeKey \t = \t SomeValue \t ; \t SomePropKey \t = \t SomePropValue"},
			[]string{"SomeKey=SomeValue;SomePropKey=SomePropValue"}},
		{"spec example", []string{"key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue"},
			[]string{"key1=value1;property1;property2", "key2=value2", "key3=value3;propertyKey=propertyValue"}},
		{"single header", []string{"userId=alice,serverNode=DF%2028,isProduction=false"},
			[]string{"isProduction=false", "serverNode=DF 28", "userId=alice"}},
		{"split into headers", []string{"userId=alice", "serverNode=DF%2028,isProduction=false"},
			[]string{"isProduction=false", "serverNode=DF 28", "userId=alice"}},
		{"headers with spaces", []string{"userId =   alice", "serverNode = DF%2028, isProduction = false"},
			[]string{"isProduction=false", "serverNode=DF 28", "userId=alice"}},
		{"empty value", []string{"k="}, []string{"k="}},
		{"empty list members", []string{" , k=v ,, ", ""}, []string{"k=v"}},
		{"duplicate keys, last wins", []string{"k=1,k=2", "k=3"}, []string{"k=3"}},
		{"UTF-8 value", []string{"city=K%C3%B8benhavn"}, []string{"city=København"}},
		{"lowercase escapes", []string{"city=K%c3%b8benhavn"}, []string{"city=København"}},
		{"invalid UTF-8 becomes U+FFFD", []string{"k=a%FFb"}, []string{"k=a\uFFFDb"}},
		{"token punctuation in key", []string{"!#$%&'*+-.^_`|~=v"}, []string{"!#$%&'*+-.^_`|~=v"}},
	}
	props := map[string]propagation.TextMapPropagator{"ctxtrail": NewPropagator(), "sdk": propagation.Baggage{}}
	for _, tt := range tests {
		for name, p := range props {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				if got := view(extract(p, tt.fields...)); !slices.Equal(got, tt.want) {
					t.Errorf("fields %q\n got %q\nwant %q", tt.fields, got, tt.want)
				}
			})
		}
	}
}

// TestW3CMalformed: members that break the grammar are skipped, the others kept, and the error
// names the first one.
func TestW3CMalformed(t *testing.T) {
	tests := []struct {
		name   string
		member string
	}{
		{"no equals", "SomeKey"},
		{"empty key", "=v"},
		{"space in value", "k=v v"},
		{"quote in key", `k"=v`},
		{"quoted value", `k="v"`},
		{"backslash in value", `k=a\b`},
		{"non-ASCII key", "ключ=v"},
		{"property without key", "k=v;=x"},
		{"property with space", "k=v;a b"},
		{"bad escape", "k=%zz"},
		{"short escape", "k=ab%4"},
		{"control byte", "k=a\x01b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collect
			p := NewPropagator(WithErrorHandler(c.handle))
			got := view(extract(p, "a=1,"+tt.member+",b=2"))
			if want := []string{"a=1", "b=2"}; !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if len(c.errs) != 1 || !errors.Is(c.errs[0], ErrMalformed) {
				t.Fatalf("reports = %v, want one wrapping ErrMalformed", c.errs)
			}
			if !strings.Contains(c.errs[0].Error(), fmt.Sprintf("%q", tt.member)) {
				t.Errorf("report %q does not quote the member", c.errs[0])
			}
		})
	}
}

// TestW3CPercentRoundTrip: any UTF-8 value set through a Member comes back the same after the
// wire, and the wire holds only baggage-octets.
func TestW3CPercentRoundTrip(t *testing.T) {
	values := []string{
		w3cPercentValue,
		"",
		"plain",
		"100%",
		"%41 is not A",
		"a,b;c=d\\e\"f",
		"line\r\nbreak",
		"København ☃ 𝄞",
		strings.Repeat("%", 100),
	}
	m := String("k")
	p := NewPropagator()
	for _, v := range values {
		t.Run(url.QueryEscape(v), func(t *testing.T) {
			ctx, err := m.Set(t.Context(), v)
			if err != nil {
				t.Fatalf("Set(%q): %v", v, err)
			}
			carrier := propagation.MapCarrier{}
			p.Inject(ctx, carrier)
			wire := carrier.Get("baggage")
			for i := 0; i < len(wire); i++ {
				if !w3cbaggage.OctetChar[wire[i]] && wire[i] != '=' {
					t.Fatalf("wire %q holds byte %q", wire, wire[i])
				}
			}
			got, ok := m.Get(p.Extract(t.Context(), carrier))
			if !ok || got != v {
				t.Errorf("round trip of %q over %q = %q, %v", v, wire, got, ok)
			}
			// The W3C suite's own encoding decodes to the same value.
			if v == w3cPercentValue {
				if got := view(extract(p, "k="+w3cPercentEncoded)); !slices.Equal(got, []string{"k=" + v}) {
					t.Errorf("suite encoding decodes to %q", got)
				}
			}
		})
	}
}

// TestW3CLimits ports the suite's limit tests: 64 members and a baggage-string of exactly 8192
// bytes go through whole, both ways; one more member or byte is refused on Set, and dropped whole
// (never cut) on the way in.
func TestW3CLimits(t *testing.T) {
	t.Run("serialize at least 64", func(t *testing.T) {
		ctx := t.Context()
		for i := range MaxMembers {
			var err error
			if ctx, err = String(fmt.Sprintf("key%d", i)).Set(ctx, "value"); err != nil {
				t.Fatalf("member %d: %v", i, err)
			}
		}
		carrier := propagation.MapCarrier{}
		NewPropagator().Inject(ctx, carrier)
		if n := len(strings.Split(carrier.Get("baggage"), ",")); n != MaxMembers {
			t.Errorf("%d members on the wire, want %d", n, MaxMembers)
		}
		if got := extract(NewPropagator(), carrier.Get("baggage")).Len(); got != MaxMembers {
			t.Errorf("extracted %d members, want %d", got, MaxMembers)
		}
		_, err := String("one.more").Set(ctx, "v")
		if !errors.Is(err, ErrTooManyMembers) {
			t.Errorf("65th member: err = %v, want ErrTooManyMembers", err)
		}
	})
	t.Run("serialize long entry", func(t *testing.T) {
		long := strings.Repeat("0123456789", 819)
		ctx, err := String("a").Set(t.Context(), long)
		if err != nil {
			t.Fatalf("Set of 8192 bytes: %v", err)
		}
		carrier := propagation.MapCarrier{}
		NewPropagator().Inject(ctx, carrier)
		if n := len(carrier.Get("baggage")); n != MaxBytes {
			t.Errorf("wire holds %d bytes, want %d", n, MaxBytes)
		}
		if got, ok := String("a").Get(NewPropagator().Extract(t.Context(), carrier)); !ok || got != long {
			t.Errorf("8192-byte member did not come back whole")
		}
		over, err := String("a").Set(t.Context(), long+"0")
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("8193 bytes: err = %v, want ErrTooLarge", err)
		}
		if otelbaggage.FromContext(over).Len() != 0 {
			t.Errorf("refused Set changed the context")
		}
	})
	t.Run("many entries", func(t *testing.T) {
		// The suite's 512 members of 15 bytes plus a trailing "b": 8192 bytes, 512 members.
		members := make([]string, 512)
		for i := range members {
			members[i] = fmt.Sprintf("%03d=0123456789a", i)
		}
		header := strings.Join(members, ",") + "b"
		if len(header) != MaxBytes {
			t.Fatalf("header of %d bytes", len(header))
		}
		var c collect
		b := extract(NewPropagator(WithErrorHandler(c.handle)), header)
		if b.Len() != MaxMembers || b.Member("000").Value() != "0123456789a" || b.Member("063").Key() == "" || b.Member("064").Key() != "" {
			t.Errorf("kept %d members (000..063 expected): %q", b.Len(), view(b))
		}
		if len(c.errs) != 1 || !errors.Is(c.errs[0], ErrTooManyMembers) {
			t.Errorf("reports = %v, want ErrTooManyMembers", c.errs)
		}
	})
	t.Run("incoming over 8192 bytes keeps whole members before the limit", func(t *testing.T) {
		first := "a=" + strings.Repeat("x", 4000)
		second := "b=" + strings.Repeat("y", 4000)
		third := "c=" + strings.Repeat("z", 4000) // ends at byte 12004
		var c collect
		b := extract(NewPropagator(WithErrorHandler(c.handle)), first, second+","+third)
		if got := view(b); len(got) != 2 || b.Member("c").Key() != "" {
			t.Errorf("kept %d members, want a and b", len(got))
		}
		if len(c.errs) != 1 || !errors.Is(c.errs[0], ErrTooLarge) {
			t.Errorf("reports = %v, want ErrTooLarge", c.errs)
		}
	})
}

// TestParseBounds: whatever arrives, parse reads no more than MaxBytes of it and builds no more
// than the limits allow: the CVE class of many baggage headers and densely packed properties.
func TestParseBounds(t *testing.T) {
	manyHeaders := make([]string, 1000)
	for i := range manyHeaders {
		manyHeaders[i] = fmt.Sprintf("k%d=v", i)
	}
	emptyHeaders := make([]string, 100_000)
	denseProps := "k=v" + strings.Repeat(";p", 4000)
	tests := []struct {
		name      string
		fields    []string
		allow     *Filter
		wantLen   int
		wantErr   error
		wantKey   string // a key that must be kept
		wantProps int
	}{
		{name: "1000 headers", fields: manyHeaders, wantLen: MaxMembers, wantErr: ErrTooManyMembers, wantKey: "k63"},
		{name: "1000 headers, allowlist", fields: manyHeaders, allow: ptr(Keys("k0", "k5", "k999")), wantLen: 2, wantErr: ErrTooManyMembers, wantKey: "k5"},
		{name: "100000 empty headers", fields: emptyHeaders, wantLen: 0, wantErr: ErrTooLarge},
		{name: "1 MB without a comma", fields: []string{"k=" + strings.Repeat("v", 1<<20)}, wantLen: 0, wantErr: ErrTooLarge},
		{name: "4000 properties", fields: []string{denseProps}, wantLen: 0, wantErr: ErrTooManyProperties},
		{name: "properties up to the limit", fields: []string{"a=1" + strings.Repeat(";p", 40) + ",b=2" + strings.Repeat(";q", 24) + ",c=3;r"},
			wantLen: 2, wantErr: ErrTooManyProperties, wantKey: "b", wantProps: MaxProperties},
		{name: "expansion past 8192 after decoding", fields: []string{"k=" + strings.Repeat("%FF", 2730)}, wantLen: 0, wantErr: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := parse(tt.fields, tt.allow)
			if len(res.members) != tt.wantLen {
				t.Errorf("kept %d members, want %d", len(res.members), tt.wantLen)
			}
			if err := res.err(); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			b, err := otelbaggage.New(res.members...)
			if err != nil {
				t.Errorf("SDK refused what parse kept: %v", err)
			}
			if n := len(b.String()); n > MaxBytes {
				t.Errorf("kept members encode to %d bytes", n)
			}
			if tt.wantKey != "" && b.Member(tt.wantKey).Key() == "" {
				t.Errorf("member %q not kept", tt.wantKey)
			}
			props := 0
			for _, m := range res.members {
				props += len(m.Properties())
			}
			if props != tt.wantProps {
				t.Errorf("%d properties kept, want %d", props, tt.wantProps)
			}
		})
	}
}

// TestAllocParse: reading a hostile header allocates a bounded amount, not in proportion to
// the headers or properties sent.
func TestAllocParse(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts differ under the race detector")
	}
	many := make([]string, 1000)
	for i := range many {
		many[i] = fmt.Sprintf("k%d=v", i)
	}
	allow := Keys("k1")
	tests := []struct {
		name   string
		fields []string
		allow  *Filter
		max    float64
	}{
		{"1000 headers, allowlist of one", many, &allow, 12},
		{"4000 properties", []string{"k=v" + strings.Repeat(";p", 4000)}, nil, 4},
		{"1 MB without a comma", []string{"k=" + strings.Repeat("v", 1<<20)}, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(20, func() { _ = parse(tt.fields, tt.allow) }); n > tt.max {
				t.Errorf("%v allocations, want at most %v", n, tt.max)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzParse feeds parse arbitrary header fields (split on '\n') and checks what must hold for any
// input: no panic, the limits, valid keys and values, and that what it keeps survives the SDK's
// encoding and a second parse unchanged.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;ValueProp=PropVal",
		"SomeKey \t = \t SomeValue \t ; \t SomeProp \t ; \t SecondProp \t = \t PropValue",
		"k=" + w3cPercentEncoded,
		"userId=alice\nserverNode=DF%2028,isProduction=false",
		"k=a%FFb;p=%E2%98%83",
		"a=1,,b;c,=d,k=v;;p;",
		"k=v" + strings.Repeat(";p", 70),
		strings.Repeat("k=v,", 70),
		"k=%4",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fields := strings.Split(in, "\n")
		res := parse(fields, nil)
		_ = res.err()
		if len(res.members) > MaxMembers {
			t.Fatalf("%d members", len(res.members))
		}
		props := 0
		for _, m := range res.members {
			if !validKey(m.Key()) {
				t.Fatalf("invalid key %q kept", m.Key())
			}
			props += len(m.Properties())
		}
		if props > MaxProperties {
			t.Fatalf("%d properties", props)
		}
		b, err := otelbaggage.New(res.members...)
		if err != nil {
			t.Fatalf("SDK refused what parse kept: %v", err)
		}
		wire := b.String()
		if len(wire) > MaxBytes {
			t.Fatalf("encodes to %d bytes", len(wire))
		}
		again := parse([]string{wire}, nil)
		if err := again.err(); err != nil {
			t.Fatalf("re-parse of %q: %v", wire, err)
		}
		b2, _ := otelbaggage.New(again.members...)
		if got, want := view(b2), view(b); !slices.Equal(got, want) {
			t.Fatalf("round trip changed members:\n got %q\nwant %q", got, want)
		}
		// The allowlist only ever removes members.
		allow := Keys("a", "k")
		if n := len(parse(fields, &allow).members); n > len(res.members) {
			t.Fatalf("allowlist kept %d of %d", n, len(res.members))
		}
	})
}
