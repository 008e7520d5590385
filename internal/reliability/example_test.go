package reliability_test

import (
	"context"
	"fmt"

	"github.com/ctxtrail/ctxtrail"
	"github.com/ctxtrail/ctxtrail/internal/reliability"
)

// A provider exports to the fake collector; Stats and the collector agree on what arrived.
func ExampleCollector() {
	col, err := reliability.NewCollector(reliability.Healthy)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer col.Close()
	p, err := ctxtrail.Install(context.Background(), ctxtrail.WithoutGlobal(), ctxtrail.WithOTLP(col.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, span := p.Tracer("example").Start(context.Background(), "checkout")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	st := p.Stats()
	fmt.Println("ended", st.Ended, "exported", st.Exported, "received", col.Spans(), "lost", st.Lost())
	// Output: ended 1 exported 1 received 1 lost 0
}
