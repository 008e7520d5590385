package evidence

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// goroutineGroup is one record of the goroutine profile in its debug=1 text form: count
// goroutines with the same stack and labels.
type goroutineGroup struct {
	count  int
	labels map[string]string
	frames []string // "func file:line", innermost first
}

// maxFrames bounds the frames kept per group.
const maxFrames = 32

// parseGoroutines reads runtime/pprof's goroutine (or goroutineleak) profile written with
// debug=1, calling fn for each group. The format is the runtime's legacy text one:
//
//	3 @ 0x4a0d2f 0x4a0e11
//	# labels: {"route":"GET /x", "span_id":"00f067aa0ba902b7"}
//	#	0x4a0d2f	main.f+0x2f	/src/main.go:12
//
// Lines it does not understand are skipped, never a panic.
func parseGoroutines(data []byte, fn func(goroutineGroup)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var g goroutineGroup
	flush := func() {
		if g.count > 0 {
			fn(g)
		}
		g = goroutineGroup{}
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "# labels: "):
			if g.count > 0 {
				g.labels = parseLabels(line[len("# labels: "):])
			}
		case strings.HasPrefix(line, "#"):
			if g.count > 0 && len(g.frames) < maxFrames {
				f := strings.Fields(line[1:])
				// f: pc, func+off, file:line
				if len(f) >= 3 {
					fn := f[1]
					if i := strings.LastIndex(fn, "+0x"); i > 0 {
						fn = fn[:i]
					}
					g.frames = append(g.frames, fn+" "+f[2])
				}
			}
		default:
			flush()
			if i := strings.Index(line, " @ "); i > 0 {
				if n, err := strconv.Atoi(line[:i]); err == nil && n > 0 {
					g.count = n
				}
			}
		}
	}
	flush()
}

// parseLabels reads {"k":"v", "k2":"v2"}, the form runtime/pprof prints labels in (each key
// and value quoted with %q). It returns nil for anything else.
func parseLabels(s string) map[string]string {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil
	}
	s = s[1 : len(s)-1]
	m := make(map[string]string, 4)
	for len(s) > 0 {
		k, rest, ok := quoted(s)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return nil
		}
		v, rest2, ok := quoted(rest[1:])
		if !ok {
			return nil
		}
		m[k] = v
		s = strings.TrimPrefix(strings.TrimPrefix(rest2, ","), " ")
	}
	return m
}

func quoted(s string) (string, string, bool) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", false
	}
	v, err := strconv.Unquote(q)
	if err != nil {
		return "", "", false
	}
	return v, s[len(q):], true
}
