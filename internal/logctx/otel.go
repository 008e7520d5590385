package logctx

import (
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
)

// MaxValueLen bounds, in bytes, a string value that a bridge copies out of a log line (span
// events, OpenTelemetry log records): a longer one is cut at a UTF-8 boundary. What the user's
// own core or handler writes is not changed.
const MaxValueLen = 8 << 10

// Bound cuts s to MaxValueLen bytes at a rune boundary.
func Bound(s string) string {
	if len(s) <= MaxValueLen {
		return s
	}
	i := MaxValueLen
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// BoundValue is Bound for a string attribute value; other values are returned as they are.
func BoundValue(kv attribute.KeyValue) attribute.KeyValue {
	if kv.Value.Type() == attribute.STRING {
		if s := kv.Value.AsString(); len(s) > MaxValueLen {
			return attribute.String(string(kv.Key), Bound(s))
		}
	}
	return kv
}

// AppendOTel appends what lc adds to an OpenTelemetry log record as attributes: the request
// ID, the request-store fields and the chosen baggage members. The trace and span IDs are not
// attributes there: the SDK sets them on the record itself from the context.
func (g *Gatherer) AppendOTel(dst []attribute.KeyValue, lc *Line) []attribute.KeyValue {
	if lc.RequestID != "" {
		dst = append(dst, attribute.String(g.Keys.RequestID, lc.RequestID))
	}
	for i, n := 0, lc.Fields.Len(); i < n; i++ {
		dst = append(dst, BoundValue(lc.Fields.At(i)))
	}
	if lc.Bag.Len() > 0 {
		for _, k := range g.Keys.Baggage {
			if v, ok := lc.Member(k); ok {
				dst = append(dst, attribute.String(k, Bound(v)))
			}
		}
	}
	return dst
}

// OTelScope is the instrumentation scope name prefix of the bridges' loggers.
const OTelScope = "github.com/ctxtrail/ctxtrail/"

// UniqueKeysProvider is what otelctx's LoggerProvider offers ctxtrail's bridges beside Logger:
// a logger whose SDK provider skips its duplicate-key check (the SDK builds and clears a map for
// every attribute after the first). A bridge may hand it only records for which UniqueKeys is
// true; any other record goes to the ordinary Logger, so what is exported never changes.
type UniqueKeysProvider interface {
	UniqueKeysLogger(name string, opts ...log.LoggerOption) log.Logger
}

// MaxUniqueCheck is how many attributes UniqueKeys compares pairwise; a record with more goes
// the SDK's way.
const MaxUniqueCheck = 16

// UniqueKeys reports whether kvs can skip the SDK's duplicate-key check with nothing exported
// differently: at most MaxUniqueCheck attributes, no two with the same key, and no slice or map
// values (the SDK also deduplicates inside those).
func UniqueKeys(kvs []attribute.KeyValue) bool {
	if len(kvs) > MaxUniqueCheck {
		return false
	}
	for i, kv := range kvs {
		switch kv.Value.Type() {
		case attribute.SLICE, attribute.MAP:
			return false
		}
		for _, prev := range kvs[:i] {
			if prev.Key == kv.Key {
				return false
			}
		}
	}
	return true
}
