#!/usr/bin/env bash
# Tools for the browser tests (tests/e2e): Debian's Chromium and npm playwright-core.
#   bash scripts/setup_e2e.sh
# Idempotent. Without these the e2e tests skip; the rest of the suite does not need them.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] && [ ! -x /usr/lib/chromium/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "setup_e2e: chromium is missing and cannot be installed here (needs root + apt-get)" >&2
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    echo "setup_e2e: node/npm missing; the browser tests will be skipped" >&2
    exit 0
  fi
fi

# playwright-core never downloads browsers; the tests drive the Debian Chromium above.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
want=$(node -p 'require("./package-lock.json").packages["node_modules/playwright-core"].version' 2>/dev/null || echo none)
have=$(node -p 'require("./node_modules/playwright-core/package.json").version' 2>/dev/null || echo none)
if [ "$want" != "$have" ]; then
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
fi
node -e 'console.log("playwright-core", require("playwright-core/package.json").version)'
"$( [ -x /usr/lib/chromium/chromium ] && echo /usr/lib/chromium/chromium || echo /usr/bin/chromium )" \
  --version 2>/dev/null | tail -1 || true
