package evidence

import (
	"net/http"
	"runtime/pprof"
	"testing"
	"time"
)

// trulyLeaked blocks on a channel nothing else can reach: the runtime's goroutineleak profile
// proves it stuck. It never exits; TestMain tells goleak so.
func trulyLeaked() {
	ch := make(chan struct{})
	<-ch
}

// TestLeakProfileByRoute: where the runtime has the goroutineleak profile (Go 1.27, or Go 1.26
// with GOEXPERIMENT=goroutineleakprofile), the goroutines it finds are counted per route.
func TestLeakProfileByRoute(t *testing.T) {
	if pprof.Lookup("goroutineleak") == nil {
		t.Skip("this runtime has no goroutineleak profile (Go 1.27, or GOEXPERIMENT=goroutineleakprofile)")
	}
	tp, _ := newProvider(t)
	rec := newRecorder(t, WithLeftBehind(time.Millisecond, time.Hour))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) { go trulyLeaked() })
	srv := serve(t, rec, tp, mux, nil)
	const n = 3
	for range n {
		get(t, srv.URL+"/stuck")
	}
	eventually(t, "the goroutineleak profile to find the route's goroutines", func() bool {
		rec.CensusNow()
		for _, lb := range rec.Snapshot().Routes {
			if lb.Route == "/stuck" && lb.Leaked == n {
				return true
			}
		}
		return false
	})
	if !rec.Snapshot().Census.LeakProfile {
		t.Error("census stats do not say the leak profile was read")
	}
}
