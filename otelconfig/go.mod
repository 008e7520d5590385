module github.com/ctxtrail/ctxtrail/otelconfig

go 1.26.0

require (
	github.com/ctxtrail/ctxtrail v0.0.0
	go.opentelemetry.io/contrib/otelconf v0.27.0
	go.yaml.in/yaml/v3 v3.0.5
)

replace github.com/ctxtrail/ctxtrail => ../
