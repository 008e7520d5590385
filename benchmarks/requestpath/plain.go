package requestpath

import (
	"net/http"

	"go.uber.org/zap"
)

// buildPlain is the uninstrumented service: the same three lines and the same call, with no
// spans, no headers and no request ID.
func (s *Service) buildPlain(cfg config, backURL string) (front, down http.Handler) {
	app := &plainApp{
		log:    zap.New(cfg.jsonCore()),
		client: &http.Client{Transport: s.base},
		url:    backURL + backPath,
	}
	return app, http.HandlerFunc(stock)
}

type plainApp struct {
	log    *zap.Logger
	client *http.Client
	url    string
}

func (a *plainApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a.log.Info("cart loaded", cartField, itemsField)
	a.log.Info("cart priced", cartField, centsField)
	body, code, err := fetch(ctx, a.client, a.url, nil)
	if err != nil {
		a.log.Error("stock unavailable", zap.Error(err))
		http.Error(w, "downstream unavailable", http.StatusBadGateway)
		return
	}
	a.log.Info("stock checked", cartField, zap.Int("status", code))
	respond(w, body)
}
