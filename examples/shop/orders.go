package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ctxtrail/ctxtrail/examples/shopdb"
	"github.com/ctxtrail/ctxtrail/otelctx/sqltx"
	"github.com/ctxtrail/ctxtrail/spans/trail"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
)

// ChargeRequest is what orders asks of payments (over gRPC, as a google.protobuf.Struct).
type ChargeRequest struct {
	Card  string
	Cents int64
}

// ChargeResponse is what payments answers.
type ChargeResponse struct {
	ChargeID string
}

// placeOrder: POST /orders. The order and the charge form one transaction: the order rows and
// the debit of the user's credit commit only if payments accepts the charge.
func (s *Service) placeOrder(w http.ResponseWriter, r *http.Request) {
	var req OrderRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ctx := trail.AddFields(r.Context(), attribute.String("enduser.id", req.User))
	log := s.tel.Log.Ctx(ctx)

	price, ok := prices[req.Item]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("no item %q", req.Item))
		return
	}
	var resp OrderResponse
	err := sqltx.RunInTx(ctx, s.db, func(ctx context.Context) error {
		u, err := s.store.UserByEmail(ctx, req.User)
		if err != nil {
			return err
		}
		orders, err := s.store.Checkout(ctx, u.ID, []shopdb.Line{{Item: req.Item, Quantity: req.Quantity, UnitCents: price}})
		if err != nil {
			return err
		}
		resp.OrderID, resp.TotalCents = orders[0].ID, orders[0].TotalCents
		trail.AddBreadcrumb(ctx, "order written, charging", attribute.Int64("order_id", resp.OrderID))
		charge, err := s.chargeCard(ctx, ChargeRequest{Card: req.Card, Cents: resp.TotalCents})
		if err != nil {
			return fmt.Errorf("charge: %w", err)
		}
		resp.Charge = charge.ChargeID
		return nil
	}, s.txOpts...)

	switch {
	case err == nil:
		log.Info("order placed", zap.Int64("order_id", resp.OrderID), zap.Int64("total_cents", resp.TotalCents))
		writeJSON(w, http.StatusOK, resp)
	case errors.Is(err, shopdb.ErrNotFound):
		log.Warn("unknown customer")
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, shopdb.ErrInsufficientCredit):
		log.Warn("not enough credit", zap.Error(err))
		writeError(w, http.StatusPaymentRequired, err)
	default:
		status := statusOf(err)
		logFailure(ctx, log, status, "order rolled back", err)
		writeError(w, status, err)
	}
}
