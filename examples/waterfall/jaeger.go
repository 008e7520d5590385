package waterfall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// maxTraceBody bounds what FetchJaeger reads of one answer.
const maxTraceBody = 64 << 20

// ErrTraceNotFound is returned by FetchJaeger when Jaeger has no trace with that ID (yet).
var ErrTraceNotFound = errors.New("waterfall: trace not found")

// FetchJaeger reads one trace from Jaeger v2's query API (GET /api/v3/traces/{id}, OTLP JSON).
// base is the query address, such as http://localhost:16686.
func FetchJaeger(ctx context.Context, client *http.Client, base, traceID string) ([]Span, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.JoinPath(base, "api/v3/traces", url.PathEscape(traceID))
	if err != nil {
		return nil, fmt.Errorf("waterfall: Jaeger address %q: %w", base, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxTraceBody)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s", ErrTraceNotFound, traceID)
	case resp.StatusCode != http.StatusOK:
		msg, _ := io.ReadAll(io.LimitReader(body, 512))
		return nil, fmt.Errorf("waterfall: GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(msg)))
	}
	return ReadOTLPJSON(body)
}

// ReadOTLPJSON reads spans from OTLP JSON, either bare TracesData ({"resourceSpans": …}) or
// Jaeger's answers ({"result": {"resourceSpans": …}}), one or more objects in a row.
func ReadOTLPJSON(r io.Reader) ([]Span, error) {
	dec := json.NewDecoder(r)
	var out []Span
	for {
		var chunk struct {
			Result *otlpTraces `json:"result"`
			otlpTraces
		}
		if err := dec.Decode(&chunk); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return out, fmt.Errorf("waterfall: OTLP JSON: %w", err)
		}
		data := &chunk.otlpTraces
		if chunk.Result != nil {
			data = chunk.Result
		}
		for _, rs := range data.ResourceSpans {
			service := ""
			for _, kv := range rs.Resource.Attributes {
				if kv.Key == "service.name" {
					service = kv.Value.StringValue
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					sp := Span{
						TraceID: s.TraceID, SpanID: s.SpanID, ParentID: s.ParentSpanID,
						Service: service, Name: s.Name, Kind: trace.SpanKind(s.Kind),
						Start: unixNano(s.StartTimeUnixNano), End: unixNano(s.EndTimeUnixNano),
						Error: s.Status.Code == 2, StatusMessage: s.Status.Message,
					}
					for _, kv := range s.Attributes {
						if kv.Value.IntValue != nil {
							setAttr(&sp, kv.Key, *kv.Value.IntValue)
						} else {
							setAttr(&sp, kv.Key, kv.Value.StringValue)
						}
					}
					out = append(out, sp)
				}
			}
		}
	}
}

type otlpTraces struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes []struct {
				Key   string `json:"key"`
				Value struct {
					StringValue string `json:"stringValue"`
				} `json:"value"`
			} `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Spans []struct {
				TraceID           string   `json:"traceId"`
				SpanID            string   `json:"spanId"`
				ParentSpanID      string   `json:"parentSpanId"`
				Name              string   `json:"name"`
				Kind              int      `json:"kind"`
				StartTimeUnixNano string   `json:"startTimeUnixNano"`
				EndTimeUnixNano   string   `json:"endTimeUnixNano"`
				Attributes        []otlpKV `json:"attributes"`
				Status            struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"status"`
			} `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

// otlpKV is an attribute in OTLP JSON; integers are written as strings.
type otlpKV struct {
	Key   string `json:"key"`
	Value struct {
		StringValue string  `json:"stringValue"`
		IntValue    *string `json:"intValue"`
	} `json:"value"`
}

func unixNano(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
