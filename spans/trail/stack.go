package trail

import (
	"errors"
	"runtime"
	"strconv"
	"strings"

	"github.com/ctxtrail/ctxtrail/spans"
)

// StackTracer is an error that carries the stack of where it was made, as program counters
// (runtime.Callers). When a captured error's chain holds one, the report shows the stack of the
// deepest such error, the closest to where things went wrong, instead of Capture's own.
type StackTracer interface {
	error
	StackTrace() []uintptr
}

// Frame is one frame of a report's stack.
type Frame struct {
	Function string
	File     string
	Line     int
}

// Where a report's stack comes from (Report.StackSource).
const (
	StackFromCapture = "capture" // Capture's caller
	StackFromError   = "error"   // a StackTracer in the error chain
	StackFromPanic   = "panic"   // where a panic was raised
)

type stackError struct {
	err error
	pcs []uintptr
}

func (e *stackError) Error() string         { return e.err.Error() }
func (e *stackError) Unwrap() error         { return e.err }
func (e *stackError) StackTrace() []uintptr { return append([]uintptr(nil), e.pcs...) }

// Stack returns err annotated with its caller's stack (at most MaxFrames frames), so that a
// report captured far from here, after the error has been passed up and wrapped, shows where
// it began. The result matches err with errors.Is and errors.As and prints as err does; a
// report's error chain leaves it out. Stack(nil) is nil, and an error that already carries a
// stack is returned as it is.
func Stack(err error) error {
	if err == nil {
		return nil
	}
	var st StackTracer
	if errors.As(err, &st) {
		return err
	}
	var pcs [MaxFrames]uintptr
	n := runtime.Callers(2, pcs[:])
	return &stackError{err: err, pcs: append([]uintptr(nil), pcs[:n]...)}
}

// framesOf resolves program counters into at most limit frames.
func framesOf(pcs []uintptr, limit int) []Frame {
	if len(pcs) == 0 || limit <= 0 {
		return nil
	}
	out := make([]Frame, 0, min(len(pcs), limit))
	frames := runtime.CallersFrames(pcs)
	for len(out) < limit {
		f, more := frames.Next()
		if f.Function != "" || f.File != "" {
			out = append(out, Frame{Function: f.Function, File: f.File, Line: f.Line})
		}
		if !more {
			break
		}
	}
	return out
}

// panicFrames resolves the stack of a deferred function that recovered a panic: it drops the
// frames above the panic (the recovering code, runtime.gopanic and the runtime's panic helpers)
// so the first frame is where the panic was raised. Without a gopanic frame it keeps them all.
func panicFrames(pcs []uintptr, limit int) []Frame {
	all := framesOf(pcs, len(pcs))
	for i, f := range all {
		if f.Function != "runtime.gopanic" {
			continue
		}
		j := i + 1
		for j < len(all) && strings.HasPrefix(all[j].Function, "runtime.") {
			j++ // runtime.panicmem, runtime.sigpanic, runtime.goPanicIndex...
		}
		all = all[j:]
		break
	}
	if len(all) > limit {
		all = all[:limit]
	}
	return all
}

// textFrames parses a goroutine stack as runtime.Stack writes it (spans.PanicError.Stack) into
// at most limit frames, starting below the panic call when there is one.
func textFrames(stack []byte, limit int) []Frame {
	lines := strings.Split(string(stack), "\n")
	var out []Frame
	afterPanic := false // skipping the runtime's panic helpers (panicmem, sigpanic...)
	for i := 0; i+1 < len(lines); i++ {
		fn := lines[i]
		loc := lines[i+1]
		if fn == "" || strings.HasPrefix(fn, "goroutine ") || !strings.HasPrefix(loc, "\t") {
			continue
		}
		if strings.HasPrefix(fn, "created by ") {
			break
		}
		i++
		if j := strings.LastIndexByte(fn, '('); j > 0 && strings.HasSuffix(fn, ")") {
			fn = fn[:j]
		}
		if fn == "panic" {
			out, afterPanic = out[:0], true // the frames so far are the recovering code's
			continue
		}
		if afterPanic && strings.HasPrefix(fn, "runtime.") {
			continue
		}
		afterPanic = false
		loc = strings.TrimPrefix(loc, "\t")
		if j := strings.LastIndex(loc, " +0x"); j >= 0 {
			loc = loc[:j]
		}
		f := Frame{Function: fn, File: loc}
		if j := strings.LastIndexByte(loc, ':'); j >= 0 {
			if n, err := strconv.Atoi(loc[j+1:]); err == nil {
				f.File, f.Line = loc[:j], n
			}
		}
		out = append(out, f)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// errorStack finds the stack a report should show from err's chain: that of the deepest
// StackTracer or *spans.PanicError, whichever is deeper (the first one met at that depth).
func errorStack(err error, limit int) (frames []Frame, source string) {
	best := -1
	walkChain(err, func(e error, depth int) {
		if depth <= best {
			return
		}
		switch x := e.(type) {
		case *spans.PanicError:
			if f := textFrames(x.Stack, limit); len(f) > 0 {
				frames, source, best = f, StackFromPanic, depth
			}
		case StackTracer:
			if f := framesOf(x.StackTrace(), limit); len(f) > 0 {
				frames, source, best = f, StackFromError, depth
			}
		}
	})
	return frames, source
}
