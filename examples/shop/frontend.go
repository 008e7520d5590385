package shop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
)

// OrderRequest is what the frontend posts to orders.
type OrderRequest struct {
	User     string `json:"user"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
	Card     string `json:"card"`
}

// OrderResponse is what orders answers.
type OrderResponse struct {
	OrderID    int64  `json:"order_id"`
	TotalCents int64  `json:"total_cents"`
	Charge     string `json:"charge"`
}

var errBadRequest = errors.New("bad request")

// checkout: GET /checkout?user=…&item=…&qty=…&card=…
func (s *Service) checkout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	req := OrderRequest{User: q.Get("user"), Item: q.Get("item"), Card: q.Get("card"), Quantity: 1}
	// The user goes into the request store: every later log line and breadcrumb carries it.
	ctx = trail.AddFields(ctx, attribute.String("enduser.id", req.User))
	log := s.tel.Slog // the frontend logs with log/slog; orders and payments with zap
	log.InfoContext(ctx, "checkout requested", "item", req.Item)
	trail.AddBreadcrumb(ctx, "checkout requested", attribute.String("item", req.Item))

	err := spans.Run(ctx, "validate cart", func(ctx context.Context) error {
		if v := q.Get("qty"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return fmt.Errorf("%w: qty %q, want 1 to 100", errBadRequest, v)
			}
			req.Quantity = n
		}
		if req.User == "" || req.Item == "" || req.Card == "" {
			return fmt.Errorf("%w: user, item and card are required", errBadRequest)
		}
		return nil
	})
	if err != nil {
		log.WarnContext(ctx, "cart rejected", "error", err)
		writeError(w, http.StatusBadRequest, err)
		return
	}

	// Recommendations load while the order is placed: an async task under its own child span,
	// waited for before answering, so no goroutine outlives the request.
	g, gctx := spans.NewGroup(ctx)
	var recs []string
	g.Go("load recommendations", func(ctx context.Context) error {
		select {
		case <-time.After(3 * time.Millisecond): // a stand-in for a cache lookup
		case <-ctx.Done():
			return ctx.Err()
		}
		recs = []string{"pen", "bookmark"}
		trail.AddBreadcrumb(ctx, "recommendations loaded", attribute.Int("count", len(recs)))
		return nil
	})

	var out OrderResponse
	err = s.call(gctx, s.cfg.OrdersURL+"/orders", req, &out)
	if gerr := g.Wait(); gerr != nil {
		log.WarnContext(ctx, "no recommendations", "error", gerr)
	}
	if err != nil {
		status := statusOf(err)
		slogFailure(ctx, log, status, "checkout failed", err)
		writeError(w, status, err)
		return
	}
	log.InfoContext(ctx, "checkout done", "order_id", out.OrderID, "total_cents", out.TotalCents)
	writeJSON(w, http.StatusOK, map[string]any{"order": out, "recommendations": recs})
}

// slogFailure is logFailure for the frontend's slog logger.
func slogFailure(ctx context.Context, log *slog.Logger, status int, msg string, err error) {
	if status/100 == 4 {
		log.WarnContext(ctx, msg, "status", status, "error", err)
		return
	}
	log.ErrorContext(ctx, msg, "status", status, "error", err)
	trail.Capture(ctx, fmt.Errorf("%s: %w", msg, err))
}
