package jaegerremote_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/jaegerremote"
)

// A service that samples as Jaeger tells it to. Here a stand-in for Jaeger's sampling endpoint
// serves "sample everything" to checkout, and the service starts at initialSamplingRate=0, so
// the first sampled span shows the strategy arrived. In production the variables are set where
// the service is deployed, and the endpoint is Jaeger's, such as http://jaeger:5778/sampling.
func ExampleEnable() {
	jaeger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}`)
	}))
	defer jaeger.Close()
	os.Setenv("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote")
	os.Setenv("OTEL_TRACES_SAMPLER_ARG", "endpoint="+jaeger.URL+"/sampling,initialSamplingRate=0")
	defer os.Unsetenv("OTEL_TRACES_SAMPLER")
	defer os.Unsetenv("OTEL_TRACES_SAMPLER_ARG")

	p, err := ctxtrail.Install(context.Background(), jaegerremote.Enable(),
		ctxtrail.WithServiceName("checkout"), ctxtrail.WithoutExporter())
	if err != nil {
		log.Fatal(err) // without jaegerremote.Enable(): an ErrConfig naming OTEL_TRACES_SAMPLER
	}
	defer p.Shutdown(context.Background())

	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, span := p.Tracer("example").Start(context.Background(), "GET /checkout")
		span.End()
		if span.SpanContext().IsSampled() {
			fmt.Println("sampled at the rate Jaeger serves")
			break
		}
	}
	// Output: sampled at the rate Jaeger serves
}
