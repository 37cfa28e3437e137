#!/usr/bin/env bash
# Build every frontend package (frontends/*/package.json): `npm ci` when its lock changed, then
# `npm run build` into its dist/. Called by `make run` and `make test`.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")"
for pkg in */package.json; do
  dir="$(dirname "$pkg")"
  (
    cd "$dir"
    stamp="node_modules/.joxai-lock-stamp"
    if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
      echo "[joxai] npm ci in frontends/$dir" >&2
      npm ci --no-audit --no-fund --loglevel=error
      cp package-lock.json "$stamp"
    fi
    echo "[joxai] building frontends/$dir" >&2
    npm run --silent build
  )
done
