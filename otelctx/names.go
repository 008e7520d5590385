package otelctx

// AttrRequestID is the span attribute that holds the request ID (RequestID) on the server span
// httpctx.NewHandler starts and on the client span a Transport starts: the ID that x-request-id carried
// and that zapbridge writes as request_id on every log line, so an ID copied from a log line or
// a support ticket finds its trace with a tag search (in Jaeger: ctxtrail.request_id=<id>).
//
// It is a plain string under ctxtrail's own key rather than the semantic conventions'
// http.request.header.x-request-id, which is a string array: Jaeger shows an array as its JSON
// text (["<id>"]), so a search for the bare ID would not find it, and on a server span that key
// means the header as received, which a handler replaces when it is unsafe or missing.
const AttrRequestID = "ctxtrail.request_id"

// AttrCallerRequestID is the span attribute and request-store field under which a handler at a
// trust boundary keeps the x-request-id its caller sent, when that ID is safe (ValidRequestID).
// The request itself runs under an ID the handler made; see httpctx.WithTrustBoundary.
const AttrCallerRequestID = "ctxtrail.caller_request_id"

// MonitorPath is where ctxtrail's examples serve spans.Monitor's page. otelctx/httpctx.NewHandler never traces a
// request for it or below it, so reading the monitor neither adds a span to every page view nor
// lists its own request as active. Mounted elsewhere, exclude it with httpctx.WithFilter.
const MonitorPath = "/debug/ctxtrail"
