package waterfall

import (
	"strings"
	"testing"
)

func TestReadJSONLinesSkipsNoise(t *testing.T) {
	in := `not json
{"Name":"op","SpanKind":3,"SpanContext":{"TraceID":"aa","SpanID":"01"},"Parent":{"SpanID":"0000000000000000"},"Status":{"Code":"Error","Description":""},"Attributes":[{"Key":"http.response.status_code","Value":{"Type":"INT64","Value":402}},{"Key":"error.type","Value":{"Type":"STRING","Value":"402"}}],"Resource":[{"Key":"service.name","Value":{"Type":"STRING","Value":"svc"}}]}
{"level":"info","msg":"a log line"}
{broken`
	spans, err := ReadJSONLines(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 || spans[0].Service != "svc" || spans[0].ParentID != "" || !spans[0].Error {
		t.Fatalf("spans %+v", spans)
	}
	if got := spans[0].Reason(); got != "402 Payment Required" {
		t.Errorf("reason %q from the attributes, want 402 Payment Required", got)
	}
}

func TestReadOTLPJSONReason(t *testing.T) {
	in := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},"scopeSpans":[{"spans":[{"traceId":"bb","spanId":"02","name":"POST","kind":3,"startTimeUnixNano":"1000","endTimeUnixNano":"5000","attributes":[{"key":"http.response.status_code","value":{"intValue":"502"}}],"status":{"code":2}}]}]}]}`
	spans, err := ReadOTLPJSON(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 || spans[0].Reason() != "502 Bad Gateway" || spans[0].Kind != 3 {
		t.Fatalf("spans %+v, reason %q", spans, spans[0].Reason())
	}
}
