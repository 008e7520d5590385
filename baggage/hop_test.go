package baggage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// injectTransport stands for otelctx's client transport: it injects prop's headers into a copy
// of each outgoing request.
type injectTransport struct {
	prop propagation.TextMapPropagator
	base http.RoundTripper
}

func (t injectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	t.prop.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	return t.base.RoundTrip(r)
}

// extractMiddleware stands for otelctx's server middleware: it extracts prop's headers into the
// request's context.
func extractMiddleware(prop propagation.TextMapPropagator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// zapFields turns baggage attributes into zap fields, as zapbridge does for the request store.
func zapFields(ctx context.Context, f Filter) []zap.Field {
	var out []zap.Field
	for _, kv := range Attributes(ctx, f) {
		out = append(out, zap.String(string(kv.Key), kv.Value.AsString()))
	}
	return out
}

// hopReply is what the downstream service saw.
type hopReply struct {
	User, Tenant, Session, Note string
	Retries                     int64
	Canary, HasSession          bool
	Wire                        []string // the raw baggage fields that arrived
	TraceID                     string
}

// TestHTTPHop sends typed members across a real HTTP hop on loopback: the caller sets them,
// the outgoing denylist strips a secret before injection, the SDK's propagators (or ours) carry
// them, the callee's allowlist lets in only what it trusts, and the members it lets in come back
// typed, on the server span as attributes and on its log lines as fields.
func TestHTTPHop(t *testing.T) {
	allowIn := Keys(KeyUserID, KeyTenantID, "retry.count", "canary", "note")
	copyOut := Keys(KeyUserID, KeyTenantID)
	retries, canary, note, token := Int("retry.count"), Bool("canary"), String("note"), String("auth.token")

	servers := map[string]propagation.TextMapPropagator{
		"sdk":      propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		"ctxtrail": propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, NewPropagator()),
	}
	for name, serverProp := range servers {
		t.Run(name, func(t *testing.T) {
			serverTP, rec := newTracer(t, NewSpanProcessor(copyOut))
			logCore, logs := observer.New(zapcore.InfoLevel)
			logger := zap.New(logCore)

			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, span := serverTP.Tracer("server").Start(r.Context(), "GET /hop", trace.WithSpanKind(trace.SpanKindServer))
				defer span.End()
				var rep hopReply
				rep.User, _ = UserID().Get(ctx)
				rep.Tenant, _ = TenantID().Get(ctx)
				rep.Session, rep.HasSession = SessionID().Get(ctx)
				rep.Retries, _ = retries.Get(ctx)
				rep.Canary, _ = canary.Get(ctx)
				rep.Note, _ = note.Get(ctx)
				rep.Wire = r.Header.Values("Baggage")
				rep.TraceID = span.SpanContext().TraceID().String()
				logger.Info("handled", zapFields(ctx, copyOut)...)
				_ = json.NewEncoder(w).Encode(rep)
			})
			srv := httptest.NewServer(extractMiddleware(serverProp, Allow(allowIn)(handler)))
			defer srv.Close()
			if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
				t.Fatalf("server on %s, want loopback", srv.URL)
			}

			clientTP, _ := newTracer(t, NewSpanProcessor(Filter{}))
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			client := &http.Client{Transport: injectTransport{
				prop: Deny(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), Keys("auth.token")),
				base: base,
			}}

			ctx, span := clientTP.Tracer("client").Start(t.Context(), "call")
			defer span.End()
			var err error
			for _, set := range []func(context.Context) (context.Context, error){
				func(c context.Context) (context.Context, error) { return UserID().Set(c, "alice@example.com") },
				func(c context.Context) (context.Context, error) { return TenantID().Set(c, "acme") },
				func(c context.Context) (context.Context, error) { return SessionID().Set(c, "sess-42") },
				func(c context.Context) (context.Context, error) { return retries.Set(c, 3) },
				func(c context.Context) (context.Context, error) { return canary.Set(c, true) },
				func(c context.Context) (context.Context, error) { return note.Set(c, "a b,c;d=é%") },
				func(c context.Context) (context.Context, error) { return token.Set(c, "s3cr3t") },
			} {
				if ctx, err = set(ctx); err != nil {
					t.Fatal(err)
				}
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/hop", nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var rep hopReply
			if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
				t.Fatal(err)
			}

			want := hopReply{User: "alice@example.com", Tenant: "acme", Retries: 3, Canary: true, Note: "a b,c;d=é%"}
			if rep.User != want.User || rep.Tenant != want.Tenant || rep.Retries != want.Retries ||
				rep.Canary != want.Canary || rep.Note != want.Note {
				t.Errorf("callee saw %+v, want %+v", rep, want)
			}
			if rep.HasSession {
				t.Errorf("session.id crossed the boundary although not allowed: %q", rep.Session)
			}
			wire := strings.Join(rep.Wire, ",")
			if strings.Contains(wire, "auth.token") || strings.Contains(wire, "s3cr3t") {
				t.Errorf("denied member on the wire: %q", wire)
			}
			if !strings.Contains(wire, "session.id=sess-42") {
				t.Errorf("wire %q lacks session.id: the denylist removed more than it should", wire)
			}
			if rep.TraceID != span.SpanContext().TraceID().String() {
				t.Errorf("trace not continued: %s vs %s", rep.TraceID, span.SpanContext().TraceID())
			}

			ended := rec.Ended()
			if len(ended) != 1 {
				t.Fatalf("%d server spans", len(ended))
			}
			if got := attrs(ended[0].Attributes()); !slices.Equal(got, []string{"tenant.id=acme", "user.id=alice@example.com"}) {
				t.Errorf("server span attributes %q", got)
			}
			entries := logs.All()
			if len(entries) != 1 {
				t.Fatalf("%d log lines", len(entries))
			}
			if got := entries[0].ContextMap(); got[KeyUserID] != "alice@example.com" || got[KeyTenantID] != "acme" || len(got) != 2 {
				t.Errorf("log fields %v", got)
			}
		})
	}
}

// TestHTTPHopConcurrent: requests in flight at once each see their own members, never another's.
func TestHTTPHopConcurrent(t *testing.T) {
	srv := httptest.NewServer(extractMiddleware(NewPropagator(), Allow(Keys(KeyTenantID))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, _ := TenantID().Get(r.Context())
			_, _ = w.Write([]byte(v))
		}))))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: injectTransport{prop: NewPropagator(), base: base}}

	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 16 {
		wg.Go(func() {
			want := "tenant-" + string(rune('a'+i))
			ctx, _ := TenantID().Set(context.Background(), want)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			resp, err := client.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != want {
				errs <- fmt.Sprintf("got %q (%v), want %q", body, err, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
