package otelconfig_test

import (
	"os"
	"testing"

	"github.com/ctxtrail/ctxtrail/otelconfig"
	"go.opentelemetry.io/contrib/otelconf"
)

// Parsing the configuration repository's fullest example, beside contrib's ParseYAML (which
// substitutes and decodes, but checks no key and builds nothing). Start-up cost only: no
// request ever pays it.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/spec/otel-sdk-config.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("otelconfig", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := otelconfig.Parse("sdk.yaml", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("otelconf.ParseYAML", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := otelconf.ParseYAML(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
