package evidence

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/ctxtrail/ctxtrail/spans"
)

// AddToMonitor puts the Recorder's findings on mon's page and JSON (spans.Monitor.AddSection):
// the goroutines left behind by route, and the flight recorder's captures with each one's
// breakdown. Each example trace links to its waterfall on the page (when the Monitor kept that
// request), and each capture to its download at capturesPath, where the service mounts
// CapturesHandler ("" leaves captures unlinked). A section for a part that is not armed says
// how to arm it.
//
//	rec, _ := evidence.New()
//	rec.AddToMonitor(mon, "/debug/evidence")
//	mux.Handle("/debug/ctxtrail", mon)
//	mux.Handle("/debug/evidence", rec.CapturesHandler())
func (r *Recorder) AddToMonitor(mon *spans.Monitor, capturesPath string) {
	mon.AddSection("goroutines left behind", r.leftBehindTable)
	mon.AddSection("flight-recorder captures", func() spans.Table { return r.capturesTable(capturesPath) })
}

func (r *Recorder) leftBehindTable() spans.Table {
	s := r.Snapshot()
	t := spans.Table{Columns: []string{"route", "left behind", "leaked (runtime)", "started by", "example trace"}}
	if !s.LeftBehind {
		t.Note = "not armed (WithLeftBehind, or CTXTRAIL_EVIDENCE=leftbehind)"
		return t
	}
	if c := s.Census; c != nil {
		t.Note = fmt.Sprintf("census %d: %d goroutines in %s", c.Rounds, c.Goroutines, c.LastDuration.Round(time.Microsecond))
		if c.LeakProfile {
			t.Note += "; the runtime's goroutineleak profile is read too"
		}
		if c.DroppedEnded > 0 {
			t.Note += fmt.Sprintf("; %d finished requests past the tracking bound not followed", c.DroppedEnded)
		}
	}
	t.Links = make([][]string, 0, len(s.Routes))
	for _, lb := range s.Routes {
		t.Rows = append(t.Rows, []string{lb.Route, strconv.Itoa(lb.Count), strconv.Itoa(lb.Leaked), lb.Started, lb.ExampleTraceID})
		t.Links = append(t.Links, []string{"", "", "", "", traceLink(lb.ExampleTraceID)})
	}
	return t
}

func (r *Recorder) capturesTable(capturesPath string) spans.Table {
	s := r.Snapshot()
	t := spans.Table{Columns: []string{"capture", "reason", "route", "duration", "running", "runnable",
		"blocked", "syscall / net", "GC assist", "other", "goroutines", "trace"}}
	if !s.Flight {
		t.Note = "not armed (WithFlightRecorder, or CTXTRAIL_EVIDENCE=flight)"
		return t
	}
	if st := s.CaptureStats; st != nil {
		t.Note = fmt.Sprintf("%d taken, %d past the budget, %d too large, %d while busy, %d failed; %d bytes kept (recorder: %s)",
			st.Taken, st.OverBudget, st.TooLarge, st.Busy, st.Failed, st.StoredBytes, st.Recorder)
	}
	ms := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "ms" }
	t.Links = make([][]string, 0, len(s.Captures))
	for _, c := range s.Captures {
		row := []string{c.ID, c.Reason, c.Route, c.Duration.Round(time.Microsecond).String()}
		if b := c.Breakdown; b != nil {
			row = append(row, ms(b.RunningMs), ms(b.RunnableMs), ms(b.BlockedMs), ms(b.SyscallMs), ms(b.GCAssistMs), ms(b.OtherMs), strconv.Itoa(b.Goroutines))
		} else {
			row = append(row, c.State+": "+c.Error, "", "", "", "", "", "")
		}
		row = append(row, c.TraceID)
		download := ""
		if capturesPath != "" && c.Kept {
			download = capturesPath + "?id=" + url.QueryEscape(c.ID)
		}
		link := make([]string, len(row))
		link[0], link[len(row)-1] = download, traceLink(c.TraceID)
		t.Rows = append(t.Rows, row)
		t.Links = append(t.Links, link)
	}
	return t
}

// traceLink is the Monitor page's link to a trace's waterfall; the page drops it unless id is a
// trace ID.
func traceLink(id string) string {
	if id == "" {
		return ""
	}
	return "?trace=" + id
}
