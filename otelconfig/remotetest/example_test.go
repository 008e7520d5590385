package remotetest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/jaegerremote"
	"github.com/ctxtrail/ctxtrail/otelconfig"
)

// A configuration file that names Jaeger's remote sampler needs both modules' options: the
// file's (otelconfig) and the sampler's (jaegerremote), which only services that use it link.
func Example() {
	strategies := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}`)
	}))
	defer strategies.Close()
	conf, err := otelconfig.Parse("service.yaml", []byte(`file_format: "1.1"
tracer_provider:
  processors: []
  sampler:
    jaeger_remote/development:
      endpoint: `+strategies.URL+`/sampling
      initial_sampler: {always_on: {}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	_, err = ctxtrail.Install(ctx, ctxtrail.WithoutGlobal(), conf.Option())
	fmt.Println("without jaegerremote.Enable():", errors.Is(err, ctxtrail.ErrConfig))
	p, err := ctxtrail.Install(ctx, ctxtrail.WithoutGlobal(), conf.Option(), jaegerremote.Enable())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Shutdown(ctx)
	fmt.Println("with it:", p.TracerProvider() != nil)
	// Output:
	// without jaegerremote.Enable(): true
	// with it: true
}
