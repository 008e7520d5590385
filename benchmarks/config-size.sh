#!/bin/sh
# Issue 32, goal 5: what the configuration file adds to a service binary. The hello-world service
# of hello.sh (hello/ctxtrail, configured from OTEL_*) beside the same service configured from
# OTEL_CONFIG_FILE through otelconfig (configsize/otelconfig), and the contrib pair: hello/contrib
# (autoexport + autoprop + otelhttp) and contrib's own file reader, otelconf.NewSDK + otelhttp
# (configsize/otelconf). configsize is a module of its own (outside go.work), so benchmarks/go.mod
# does not gain otelconf.
#
# Columns as hello.sh's: the stripped binary (go build -trimpath -ldflags='-s -w'), the modules
# linked (go version -m), the non-standard packages compiled (go list -deps). Then the modules
# otelconfig adds to hello/ctxtrail's binary.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOWORK=off

echo "# $(go version); $(date -u +%Y-%m-%d)"
echo
echo "| program | stripped binary | modules linked | non-standard packages |"
echo "|---|---|---|---|"
for prog in hello/ctxtrail configsize/otelconfig hello/contrib configsize/otelconf; do
	name=$(echo "$prog" | tr / -)
	case $prog in
	configsize/*) (cd configsize && go build -trimpath -ldflags='-s -w' -o "$tmp/$name" "./${prog#configsize/}") ;;
	*) go build -trimpath -ldflags='-s -w' -o "$tmp/$name" "./$prog" ;;
	esac
	go version -m "$tmp/$name" | awk '$1 == "dep" {print $2}' | sort > "$tmp/$name.mods"
	size=$(wc -c < "$tmp/$name")
	linked=$(wc -l < "$tmp/$name.mods")
	case $prog in
	configsize/*) pkgs=$(cd configsize && go list -deps "./${prog#configsize/}" | grep -c '\.') ;;
	*) pkgs=$(go list -deps "./$prog" | grep -c '\.') ;;
	esac
	printf '| %s | %s bytes (%.1f MB) | %s | %s |\n' "$prog" "$size" "$(echo "$size / 1000000" | bc -l)" "$linked" "$pkgs"
done
echo
echo "Modules configsize/otelconfig links that hello/ctxtrail does not:"
comm -13 "$tmp/hello-ctxtrail.mods" "$tmp/configsize-otelconfig.mods" | sed 's/^/- /'
