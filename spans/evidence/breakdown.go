package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	xtrace "golang.org/x/exp/trace"
)

// The categories of runtime/trace.Log events that mark a request's window on its goroutine; the
// message is the request's span ID.
const (
	logBegin = "ctxtrail.begin"
	logEnd   = "ctxtrail.end"
)

// Breakdown is where a request's goroutines spent its time window, summed over the request's
// own goroutine and those started from it (transitively) during the window. Each goroutine
// counts, so with concurrency the sum can exceed the request's duration.
type Breakdown struct {
	// RunningMs: on a CPU, running Go code.
	RunningMs float64 `json:"running_ms"`
	// RunnableMs: ready to run, waiting for a CPU (scheduler latency).
	RunnableMs float64 `json:"runnable_ms"`
	// BlockedMs: blocked on a lock (sync), a sync.Cond, a channel or a select.
	BlockedMs float64 `json:"blocked_ms"`
	// SyscallMs: in a system call, or parked on the network poller.
	SyscallMs float64 `json:"syscall_ms"`
	// GCAssistMs: made to help the garbage collector (mark assist), or waiting for it.
	GCAssistMs float64 `json:"gc_assist_ms"`
	// OtherMs: other waits (time.Sleep, and the runtime's own).
	OtherMs float64 `json:"other_ms"`
	// Goroutines is how many goroutines the window covers (the request's and its offspring).
	Goroutines int `json:"goroutines"`
	// GoroutineIDs are the first of them (the request's goroutine first), to find in go tool trace.
	GoroutineIDs []int64 `json:"goroutine_ids,omitempty"`
}

// errNotInTrace: the snapshot does not hold the request's begin or end (the window was shorter
// than the request, or the trace was cut).
var errNotInTrace = errors.New("the request's window is not in the flight recorder's snapshot: lengthen it with WithRecorderWindow")

type goState struct {
	st     xtrace.GoState
	since  xtrace.Time
	reason string
}

// analyze reads an execution trace and breaks down the window of the request whose span ID is
// sid, the time between its logBegin and logEnd events.
func analyze(data []byte, sid string) (Breakdown, error) {
	var b Breakdown
	rd, err := xtrace.NewReader(bytes.NewReader(data))
	if err != nil {
		return b, fmt.Errorf("reading the capture: %w", err)
	}
	var (
		started bool
		ws      xtrace.Time
		set     = map[xtrace.GoID]bool{}
		order   []xtrace.GoID
		states  = map[xtrace.GoID]goState{}
		assist  = map[xtrace.GoID]xtrace.Time{}
		acc     [6]time.Duration // running, runnable, blocked, syscall, gc, other
	)
	add := func(s goState, until xtrace.Time) {
		from := s.since
		if from < ws {
			from = ws
		}
		if until <= from {
			return
		}
		acc[category(s.st, s.reason)] += until.Sub(from)
	}
	join := func(g xtrace.GoID) {
		if !set[g] {
			set[g] = true
			order = append(order, g)
		}
	}
	for {
		ev, err := rd.ReadEvent()
		if err == io.EOF {
			return b, errNotInTrace
		}
		if err != nil {
			return b, fmt.Errorf("reading the capture: %w", err)
		}
		switch ev.Kind() {
		case xtrace.EventLog:
			l := ev.Log()
			if l.Message != sid {
				continue
			}
			if l.Category == logBegin && !started {
				started, ws = true, ev.Time()
				join(ev.Goroutine())
			} else if l.Category == logEnd && started {
				we := ev.Time()
				for _, g := range order {
					if s, ok := states[g]; ok {
						add(s, we)
					}
					if t, ok := assist[g]; ok {
						if t < ws {
							t = ws
						}
						acc[4] += we.Sub(t)
						acc[0] -= we.Sub(t)
					}
				}
				b.RunningMs, b.RunnableMs, b.BlockedMs = ms(acc[0]), ms(acc[1]), ms(acc[2])
				b.SyscallMs, b.GCAssistMs, b.OtherMs = ms(acc[3]), ms(acc[4]), ms(acc[5])
				b.Goroutines = len(order)
				for i, g := range order {
					if i == 16 {
						break
					}
					b.GoroutineIDs = append(b.GoroutineIDs, int64(g))
				}
				return b, nil
			}
		case xtrace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != xtrace.ResourceGoroutine {
				continue
			}
			g := st.Resource.Goroutine()
			from, to := st.Goroutine()
			if started && set[g] {
				if s, ok := states[g]; ok {
					add(s, ev.Time())
				} else if from != xtrace.GoNotExist && from != xtrace.GoUndetermined {
					add(goState{st: from, since: ws}, ev.Time())
				}
			}
			if started && from == xtrace.GoNotExist && to == xtrace.GoRunnable && set[ev.Goroutine()] {
				join(g)
			}
			states[g] = goState{st: to, since: ev.Time(), reason: st.Reason}
		case xtrace.EventRangeBegin, xtrace.EventRangeActive:
			r := ev.Range()
			if r.Name == "GC mark assist" && r.Scope.Kind == xtrace.ResourceGoroutine {
				assist[r.Scope.Goroutine()] = ev.Time()
			}
		case xtrace.EventRangeEnd:
			r := ev.Range()
			if r.Name == "GC mark assist" && r.Scope.Kind == xtrace.ResourceGoroutine {
				g := r.Scope.Goroutine()
				if t, ok := assist[g]; ok {
					delete(assist, g)
					if started && set[g] {
						if t < ws {
							t = ws
						}
						if ev.Time() > t {
							// Assist runs while the goroutine is Running: move it out of running.
							d := ev.Time().Sub(t)
							acc[4] += d
							acc[0] -= d
						}
					}
				}
			}
		}
	}
}

// category files a goroutine state under one of the breakdown's six figures.
func category(st xtrace.GoState, reason string) int {
	switch st {
	case xtrace.GoRunning:
		return 0
	case xtrace.GoRunnable:
		return 1
	case xtrace.GoSyscall:
		return 3
	case xtrace.GoWaiting:
		switch reason {
		case "sync", "sync.(*Cond).Wait", "chan send", "chan receive", "select":
			return 2
		case "network":
			return 3
		case "GC mark assist wait for work", "wait until GC ends":
			return 4
		}
	}
	return 5
}

func ms(d time.Duration) float64 {
	if d < 0 {
		d = 0
	}
	return float64(d.Microseconds()) / 1000
}
