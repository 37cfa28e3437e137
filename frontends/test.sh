#!/usr/bin/env bash
# Browser tests of every frontend package, in Debian's Chromium driven by playwright-core (no browser
# download). Each package's `npm test` starts its own all-in-one JoxAI (infra/scripts/serve-for-tests.sh).
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  echo "[joxai] installing Debian's chromium for browser tests" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
fi
# The mail tests start a local SMTP server (aiosmtpd from PyPI), with the same Python as make test.
if [ -z "${JOXAI_TEST_PYTHON:-}" ]; then
  SMTP_VENV="${JOXAI_CACHE:-$HOME/.cache/joxai}/smtp-venv"
  if ! "$SMTP_VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m venv "$SMTP_VENV" && "$SMTP_VENV/bin/pip" install -q aiosmtpd >/dev/null
  fi
  export JOXAI_TEST_PYTHON="$SMTP_VENV/bin/python"
fi
./build.sh
for pkg in */package.json; do
  dir="$(dirname "$pkg")"
  echo "[joxai] browser tests: frontends/$dir" >&2
  (cd "$dir" && npm test)
done
