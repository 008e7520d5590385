package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ctxtrail/ctxtrail/spans"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
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
	log := s.tel.Log.Ctx(ctx)
	log.Info("checkout requested", zap.String("item", req.Item))
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
		log.Warn("cart rejected", zap.Error(err))
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
		log.Warn("no recommendations", zap.Error(gerr))
	}
	if err != nil {
		status := statusOf(err)
		logFailure(ctx, log, status, "checkout failed", err)
		writeError(w, status, err)
		return
	}
	log.Info("checkout done", zap.Int64("order_id", out.OrderID), zap.Int64("total_cents", out.TotalCents))
	writeJSON(w, http.StatusOK, map[string]any{"order": out, "recommendations": recs})
}
