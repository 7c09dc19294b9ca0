#!/usr/bin/env bash
# Install the workspace with the pinned pnpm on a machine that has only Node 20.
# - pnpm: the version in package.json "packageManager", through npx when it is not on PATH
#   (corepack's signature check fails behind some registry mirrors).
# - hnswlib-node compiles with node-gyp: hand it the local Node headers that npm knows about
#   (npm config nodedir), since node-gyp cannot always download them.
set -euo pipefail
cd "$(dirname "$0")/../.."
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$want" ]; then
  PNPM=(pnpm)
else
  PNPM=(npx --yes "pnpm@$want")
fi
nodedir=$(npm config get nodedir 2>/dev/null || true)
if [ -n "$nodedir" ] && [ "$nodedir" != "undefined" ] && [ "$nodedir" != "null" ]; then
  export npm_config_nodedir="$nodedir"
fi
export TURBO_TELEMETRY_DISABLED=1
if [ -n "${CI:-}" ]; then
  "${PNPM[@]}" install --frozen-lockfile --reporter=append-only
else
  "${PNPM[@]}" install --prefer-offline --reporter=silent
fi
