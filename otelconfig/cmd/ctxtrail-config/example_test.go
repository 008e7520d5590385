package main

import (
	"fmt"
	"os"
)

// Checking a file with a misspelt key: the key and its line are named, and the status says
// Install would refuse the file.
func Example() {
	status := run([]string{"check", "../../testdata/unknown-key.yaml"}, os.Stdout, os.Stderr)
	fmt.Println("status", status)
	// Output:
	// # ../../testdata/unknown-key.yaml
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
	//   ctxtrail: bad configuration: configuration ../../testdata/unknown-key.yaml: line 9: error: tracer_provider.processors[0].batch.shedule_delay: not in the configuration schema (otelconf v0.27.0's model) nor ctxtrail's: a typo, or a key of another schema version
	// status 1
}
