#!/usr/bin/env bash
# Builds Jaeger v2 from the Go module proxy into a cache outside the repo and prints the binary's
# path. `go install ...@v` refuses the module (its go.mod has a replace directive), so we build it
# from a small throwaway module that requires it and copies that replace.
#
#   scripts/jaeger.sh          # build if missing, print the path
#   scripts/jaeger.sh start    # build if missing, start on loopback, wait until ready, print the pid
#
# JAEGER_VERSION picks the module version (v1.x tags of the module are the v2 releases);
# CTXTRAIL_CACHE picks the cache folder (default ~/.cache/ctxtrail).
set -euo pipefail

version=${JAEGER_VERSION:-v1.76.0}
cache=${CTXTRAIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ctxtrail}
bin="$cache/jaeger-$version/jaeger"

build() {
  [ -x "$bin" ] && return 0
  local mod="$cache/jaeger-$version/mod"
  mkdir -p "$mod"
  cat >"$mod/go.mod" <<MOD
module ctxtrail.local/jaegerbuild

go 1.25

require github.com/jaegertracing/jaeger $version

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
MOD
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package jaegerbuild

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
GO
  (
    cd "$mod"
    echo "building jaeger $version into $bin (a cold build takes several minutes)" >&2
    GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
    GOFLAGS=-mod=mod go get "github.com/jaegertracing/jaeger/cmd/jaeger@$version" >&2
    CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$bin.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
    mv "$bin.tmp" "$bin"
  )
}

start() {
  build
  local log="$cache/jaeger-$version/jaeger.log"
  # The default all-in-one config keeps traces in memory and listens on OTLP 4317/4318 and the
  # UI/API on 16686. We bind everything to loopback explicitly.
  "$bin" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do
    if curl -sf -o /dev/null http://127.0.0.1:16686/api/services; then
      echo "$pid"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "jaeger exited; log follows" >&2; cat "$log" >&2; return 1; }
    sleep 0.5
  done
  echo "jaeger did not become ready in 60s; log follows" >&2
  cat "$log" >&2
  kill "$pid" 2>/dev/null || true
  return 1
}

case "${1:-build}" in
  build) build; echo "$bin" ;;
  start) start ;;
  *) echo "usage: $0 [build|start]" >&2; exit 2 ;;
esac
