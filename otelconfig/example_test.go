package otelconfig_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/otelconfig"
)

// A file read with FromEnv configures Install; its ctxtrail node gives the handlers their
// options and the monitor its page.
func ExampleFromEnv() {
	os.Setenv("OTEL_CONFIG_FILE", "testdata/service.yaml") // set by the deployment, normally
	defer os.Unsetenv("OTEL_CONFIG_FILE")
	conf, err := otelconfig.FromEnv()
	if err != nil {
		log.Fatal(err) // names the key and its line
	}
	p, err := ctxtrail.Install(context.Background(), conf.Option(), ctxtrail.WithoutGlobal())
	if err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	fmt.Println("monitor at", conf.MonitorPath())
	fmt.Println("HTTP handler options:", len(conf.HTTPHandlerOptions()))
	fmt.Println("keys not applied:", len(conf.NotApplied()))
	// Output:
	// monitor at /debug/ctxtrail
	// HTTP handler options: 1
	// keys not applied: 0
}

// Check prints what a file does, as the ctxtrail-config command does.
func ExampleCheck() {
	_ = otelconfig.Check(os.Stdout, "testdata/unknown-key.yaml")
	// Output:
	// # testdata/unknown-key.yaml
	// ## applied
	//   file_format: 1.1
	//   propagator: none (the file has no propagator section)
	//   sampler: parent_based(always_on) (the default)
	//   traces: console (JSON lines on stdout)
	//   traces: batch schedule_delay=5s export_timeout=30s max_queue_size=2048 max_export_batch_size=512
	//   traces: limits attributes=128 value_length=-1 events=128 links=128
	//   logs: off (no logger_provider)
	//   metrics: off (no meter_provider)
	// ## not applied
	//   line 4: warning: tracer_provider.tracer_configurator/development: a /development feature ctxtrail does not apply; it is ignored, as the specification allows
	//   line 9: error: tracer_provider.processors[0].batch.shedule_delay: not in the configuration schema (otelconf v0.27.0's model) nor ctxtrail's: a typo, or a key of another schema version
	// ## result: Install would fail
	//   ctxtrail: bad configuration: configuration testdata/unknown-key.yaml: line 9: error: tracer_provider.processors[0].batch.shedule_delay: not in the configuration schema (otelconf v0.27.0's model) nor ctxtrail's: a typo, or a key of another schema version
}

// Evidence makes the runtime-evidence Recorder the file's ctxtrail.evidence section arms; the
// service places its Middleware inside httpctx.NewHandler and shuts it down.
func ExampleConfig_Evidence() {
	conf, err := otelconfig.Parse("service.yaml", []byte(`file_format: "1.1"
instrumentation/development:
  go:
    ctxtrail:
      evidence:
        profile_labels: true
        left_behind: {grace: 5s, interval: 10s}
`))
	if err != nil {
		log.Fatal(err)
	}
	rec, err := conf.Evidence()
	if err != nil {
		log.Fatal(err)
	}
	defer rec.Shutdown(context.Background())
	labels, leftBehind, flight := rec.Armed()
	fmt.Println("labels:", labels, "left behind:", leftBehind, "flight recorder:", flight)
	// Output:
	// labels: true left behind: true flight recorder: false
}
