#!/usr/bin/env bash
# Screenshot a genolens dashboard page with Debian's headless Chromium and fail on any console message.
#
#   scripts/screenshot_dashboard.sh HTML_DIR/index.html OUT.png [WIDTHxHEIGHT]
#
# Chromium logs every console message (errors, uncaught exceptions) as INFO:CONSOLE(...) on stderr with
# --enable-logging=stderr; this script prints those lines and exits 1 if there is any. Network is
# disabled in the browser's background services; the dashboard needs none.
set -euo pipefail
page=${1:?usage: $0 PAGE.html OUT.png [WIDTHxHEIGHT]}
out=${2:?usage: $0 PAGE.html OUT.png [WIDTHxHEIGHT]}
size=${3:-1280x1600}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium not found (apt-get install chromium)" >&2; exit 2; }
[ -f "$page" ] || { echo "$page: no such file" >&2; exit 2; }
url="file://$(realpath "$page")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --enable-logging=stderr --v=0 --window-size="${size/x/,}" --screenshot="$out" "$url" 2>"$log" >/dev/null || true
[ -s "$out" ] || { echo "no screenshot written; chromium said:" >&2; tail -20 "$log" >&2; exit 1; }
if grep -E ':CONSOLE[:(]' "$log"; then
  echo "console messages above: $page" >&2
  exit 1
fi
echo "screenshot $out ($size), no console messages"
