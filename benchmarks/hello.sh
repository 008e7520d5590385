#!/bin/sh
# Issue 28, goal 2: what a service pays in binary size and modules for ctxtrail's Install and
# HTTP handler, beside the stack a user would pick instead (contrib autoexport + autoprop +
# otelhttp, which read the same OTEL_* variables). Both programs are in hello/.
#
# For each: the stripped binary (go build -trimpath -ldflags='-s -w'), the modules linked into it
# (go version -m), the non-standard packages it compiles (go list -deps), and the modules that
# `go list -m all` lists in a fresh consumer module holding only that program (the library is
# taken from this checkout through a replace directive, as a user's module would see it).
set -eu
cd "$(dirname "$0")"
root=$(cd .. && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOWORK=off

echo "# $(go version); $(date -u +%Y-%m-%d)"
echo
echo "| program | stripped binary | modules linked | non-standard packages | modules listed by a consumer |"
echo "|---|---|---|---|---|"
for prog in ctxtrail contrib; do
	go build -trimpath -ldflags='-s -w' -o "$tmp/$prog" "./hello/$prog"
	size=$(wc -c < "$tmp/$prog")
	linked=$(go version -m "$tmp/$prog" | grep -c '^[[:space:]]*dep[[:space:]]')
	pkgs=$(go list -deps "./hello/$prog" | grep -c '\.')

	mod="$tmp/mod-$prog"
	mkdir -p "$mod"
	cp "hello/$prog/main.go" "$mod/"
	(
		cd "$mod"
		go mod init example.com/hello >/dev/null 2>&1
		if [ "$prog" = ctxtrail ]; then
			go mod edit -require=github.com/ctxtrail/ctxtrail@v0.0.0 -replace=github.com/ctxtrail/ctxtrail="$root"
		else
			for m in go.opentelemetry.io/contrib/exporters/autoexport go.opentelemetry.io/contrib/propagators/autoprop \
				go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp; do
				v=$(cd "$root/benchmarks" && go list -m -f '{{.Version}}' "$m")
				go mod edit -require="$m@$v"
			done
		fi
		go mod tidy >/dev/null 2>&1
	)
	listed=$(cd "$mod" && go list -m all | wc -l)
	printf '| %s | %s bytes (%.1f MB) | %s | %s | %s |\n' "$prog" "$size" "$(echo "$size / 1000000" | bc -l)" "$linked" "$pkgs" "$listed"
done
