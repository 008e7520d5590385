package httpctx

import (
	"net/url"
	"sync/atomic"
	"unsafe"

	"github.com/ctxtrail/ctxtrail/internal/reqstore"
)

// urlCache remembers the url.full of a Transport's last call, so that a client calling the same
// endpoint again pays no allocation for the attribute. A miss costs the one allocation building
// the string always cost; URLs longer than an entry's buffer are built and not kept.
type urlCache struct{ last atomic.Pointer[urlEntry] }

type urlEntry struct {
	full string // points into buf, which is never written again once stored
	buf  [192]byte
}

// full returns u's url.full: scheme, host and escaped path, without user info, query or fragment
// (which often carry credentials), bounded as every request-derived attribute is.
func (c *urlCache) full(u *url.URL) string {
	path := u.EscapedPath()
	if e := c.last.Load(); e != nil && sameURL(e.full, u.Scheme, u.Host, path) {
		return e.full
	}
	n := len(u.Scheme) + 3 + len(u.Host) + len(path)
	if n > len(urlEntry{}.buf) {
		return reqstore.Bound(u.Scheme + "://" + u.Host + path)
	}
	e := new(urlEntry)
	b := append(append(append(append(e.buf[:0], u.Scheme...), "://"...), u.Host...), path...)
	e.full = reqstore.Bound(unsafe.String(&b[0], len(b)))
	c.last.Store(e)
	return e.full
}

// sameURL reports whether full is scheme + "://" + host + path, without building the latter.
func sameURL(full, scheme, host, path string) bool {
	return len(full) == len(scheme)+3+len(host)+len(path) &&
		full[:len(scheme)] == scheme && full[len(scheme):len(scheme)+3] == "://" &&
		full[len(scheme)+3:len(scheme)+3+len(host)] == host && full[len(full)-len(path):] == path
}
