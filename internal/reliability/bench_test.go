package reliability

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail"
)

// BenchmarkRequestPath is one request through front and back with the collector healthy and
// faulty: the exporter's state must not show on the request path.
func BenchmarkRequestPath(b *testing.B) {
	for _, mode := range []struct {
		name string
		m    Mode
	}{{"collector=healthy", Healthy}, {"collector=hang", Hang}, {"collector=503", Unavailable}} {
		b.Run(mode.name, func(b *testing.B) {
			col, err := NewCollector(mode.m)
			if err != nil {
				b.Fatal(err)
			}
			defer col.Close()
			var bl bleeds
			topo, err := startTopology(&logCheck{b: &bl}, ctxtrail.WithOTLP(col.URL()),
				ctxtrail.WithLossWarnings(time.Hour, func(error) {}))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = topo.close(ctx)
			}()
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			var i atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := oneRequest(context.Background(), client, topo.front.url, int(i.Add(1)), &bl); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if bl.total() != 0 {
				b.Fatalf("bleed: %q", bl.first)
			}
		})
	}
}
