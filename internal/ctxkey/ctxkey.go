// Package ctxkey learns the unexported context key another package stores a value under, so
// that ctxtrail's own context nodes can answer for it (or read it) without a context.WithValue
// entry. Callers check what they learn against the other package's own setter and fall back to
// the public API when the check fails.
package ctxkey

import "context"

// Learn returns the first key lookup asks the context it is given for, or nil if it asks for
// none.
func Learn(lookup func(ctx context.Context)) any {
	p := &probe{Context: context.Background()}
	lookup(p)
	return p.key
}

// probe is a context that remembers the first key its Value is asked for and holds nothing.
type probe struct {
	context.Context
	key any
}

func (p *probe) Value(key any) any {
	if p.key == nil {
		p.key = key
	}
	return nil
}
