package httpctx

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ctxtrail/ctxtrail/internal/w3cbaggage"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
	"github.com/ctxtrail/ctxtrail/otelctx"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// peerAddr is the connection's remote end, split once per request for the start attributes
// (client.address) and the end ones (network.peer.*).
type peerAddr struct {
	host string
	port int
}

// appendPeerAttrs adds the connection attributes the HTTP semantic conventions list as relevant
// to sampling, so NewHandler gives them at span start: server.port (from the Host header, when
// not the scheme's default) and client.address (the first X-Forwarded-For entry when it is an IP
// address, else the connection's remote end). X-Forwarded-For is set by whoever sent the
// request, so client.address is a hint, never an identity; a value that is not an IP address is
// ignored rather than recorded.
func appendPeerAttrs(attrs []attribute.KeyValue, r *http.Request, https bool, peer peerAddr) []attribute.KeyValue {
	if _, port := splitHostPort(r.Host); port > 0 && !(port == 80 && !https) && !(port == 443 && https) {
		attrs = append(attrs, semconv.ServerPortKey.Int(port))
	}
	client := peer.host
	if xff := r.Header["X-Forwarded-For"]; len(xff) > 0 {
		first, _, _ := strings.Cut(xff[0], ",")
		if first = w3cbaggage.TrimOWS(first); len(first) <= 64 {
			if _, err := netip.ParseAddr(first); err == nil {
				client = first
			}
		}
	}
	if client != "" {
		attrs = append(attrs, semconv.ClientAddressKey.String(reqstore.Bound(client)))
	}
	return attrs
}

// appendConnAttrs adds the connection attributes no sampler needs, which NewHandler gives with
// the end attributes, as the conventions allow: network.peer.address and network.peer.port (the
// connection's remote end) and network.protocol.version. Fewer start attributes is fewer bytes
// for the SDK to copy into the start options and then grow at the end.
func appendConnAttrs(attrs []attribute.KeyValue, r *http.Request, peer peerAddr) []attribute.KeyValue {
	if peer.host != "" {
		attrs = append(attrs, semconv.NetworkPeerAddressKey.String(reqstore.Bound(peer.host)))
		if peer.port > 0 {
			attrs = append(attrs, semconv.NetworkPeerPortKey.Int(peer.port))
		}
	}
	if v := protocolVersion(r); v != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersionKey.String(v))
	}
	return attrs
}

// splitHostPort splits "host:port", "[v6]:port" or a bare host; port is 0 when absent or bad.
func splitHostPort(hostport string) (host string, port int) {
	if hostport == "" {
		return "", 0
	}
	if strings.IndexByte(hostport, ':') < 0 {
		return hostport, 0 // the common Host without a port: SplitHostPort would allocate its error
	}
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return strings.Trim(hostport, "[]"), 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > 65535 {
		return h, 0
	}
	return h, n
}

// appendEndAttrs adds what is known only when the handler returns: the request ID and the
// body sizes (http.request.body.size as read by the handler, http.response.body.size as
// written), each only when non-zero, as otelhttp does.
func (w *responseWriter) appendEndAttrs(attrs []attribute.KeyValue, requestID string) []attribute.KeyValue {
	if requestID != "" {
		attrs = append(attrs, attribute.String(otelctx.AttrRequestID, requestID))
	}
	if n := w.reqBody.n; n > 0 {
		attrs = append(attrs, semconv.HTTPRequestBodySizeKey.Int64(n))
	}
	if w.written > 0 {
		attrs = append(attrs, semconv.HTTPResponseBodySizeKey.Int64(w.written))
	}
	return attrs
}

// countingBody counts the request body bytes the handler reads. It lives inside the
// responseWriter, so counting costs no allocation.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// countBody makes r2 read its body through w's counter, unless there is no body.
func (w *responseWriter) countBody(r2 *http.Request) {
	if r2.Body != nil && r2.Body != http.NoBody {
		w.reqBody.ReadCloser = r2.Body
		r2.Body = &w.reqBody
	}
}
