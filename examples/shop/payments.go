package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ctxtrail/ctxtrail/otelctx"
	"github.com/ctxtrail/ctxtrail/spans"
	"go.uber.org/zap"
)

var errDeclined = errors.New("card declined")

// charge: POST /charge. Card 0000 is declined; card "panic" panics, to show the recovery
// middleware answering 500 and the server carrying on.
func (s *Service) charge(w http.ResponseWriter, r *http.Request) {
	var req ChargeRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ctx := r.Context()
	log := s.tel.Log.Ctx(ctx)

	err := spans.Run(ctx, "fraud check", func(ctx context.Context) error {
		time.Sleep(time.Millisecond) // a stand-in for a scoring call
		if req.Cents <= 0 {
			return fmt.Errorf("amount %d cents", req.Cents)
		}
		return nil
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	id, err := spans.RunValue(ctx, "authorize card", func(ctx context.Context) (string, error) {
		switch req.Card {
		case "0000":
			return "", errDeclined
		case "panic":
			panic("payments: card processor returned garbage")
		}
		return "ch_" + otelctx.RequestID(ctx), nil
	})
	if err != nil {
		log.Warn("charge declined", zap.Int64("cents", req.Cents), zap.Error(err))
		writeError(w, http.StatusPaymentRequired, err)
		return
	}
	log.Info("charged", zap.Int64("cents", req.Cents), zap.String("charge_id", id))
	writeJSON(w, http.StatusOK, ChargeResponse{ChargeID: id})
}
