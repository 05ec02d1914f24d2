#!/usr/bin/env bash
# audit.sh runs Lighthouse (npm, deploy/install-npm.sh) in Debian's chromium
# against the page of a running stack, as "make audit" does after "make run":
# each page below, at phone size (Lighthouse's default: a mid-range phone on
# a slow 4G link, simulated) and at desktop size, and prints the four scores
# of each, and every audit that did not pass.  Everything stays on this
# machine: Chromium starts with no background networking, from a fresh
# profile each time.
#
#   deploy/audit.sh [URL]   the stack at URL (default http://127.0.0.1:$PORT,
#                           PORT default 8080, as make run)
#
# Environment: AUDIT_PAGES (paths to audit, space-separated; default the
# empty form, a small value and a long one), AUDIT_MIN (exit 1 when a score
# is below it, default 100), AUDIT_DIR (where the JSON reports go, default
# run/audit).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
URL=${1:-http://127.0.0.1:${PORT:-8080}}
URL=${URL%/}
PAGES=${AUDIT_PAGES:-/ /?n=32 /?n=10000}
MIN=${AUDIT_MIN:-100}
OUT=${AUDIT_DIR:-$ROOT/run/audit}
LIGHTHOUSE=$ROOT/npm/node_modules/lighthouse/cli/index.js
CHROMIUM=${CHROME_PATH:-/usr/bin/chromium}

deploy/install-npm.sh
if [ ! -x "$CHROMIUM" ]; then
    echo "audit: $CHROMIUM not found (deploy/install-deps.sh installs chromium)" >&2
    exit 2
fi
if ! curl -fsS -o /dev/null --max-time 5 "$URL/healthz"; then
    echo "audit: nothing healthy answers at $URL (make run starts the stack)" >&2
    exit 2
fi
mkdir -p "$OUT"

PROFILE=
cleanup() {
    if [ -n "$PROFILE" ]; then
        rm -rf "$PROFILE"
    fi
}
trap cleanup EXIT

status=0
printf '%-22s %-8s %12s %14s %15s %4s\n' page size performance accessibility best-practices seo
for page in $PAGES; do
    for size in phone desktop; do
        preset=()
        if [ "$size" = desktop ]; then
            preset=(--preset=desktop)
        fi
        name=$(printf %s "$page" | tr -c 'A-Za-z0-9' _)-$size
        # A fresh profile for each run: nothing cached from the one before.
        PROFILE=$(mktemp -d /tmp/pg_fib-audit.XXXXXX)
        if ! CHROME_PATH=$CHROMIUM node "$LIGHTHOUSE" "$URL$page" "${preset[@]}" \
            --output=json --output-path="$OUT/$name.json" --quiet \
            --only-categories=performance,accessibility,best-practices,seo \
            --chrome-flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir=$PROFILE" \
            2>"$OUT/$name.log"; then
            echo "audit: Lighthouse failed on $page ($size); see $OUT/$name.log" >&2
            tail -n 5 "$OUT/$name.log" >&2
            status=1
            continue
        fi
        rm -rf "$PROFILE"
        PROFILE=
        # The four scores (0-100), then each audit below 1 in a category.
        if ! node - "$OUT/$name.json" "$page" "$size" "$MIN" <<'EOF'
const [file, page, size, min] = process.argv.slice(2);
const report = require(file);
const ids = ["performance", "accessibility", "best-practices", "seo"];
const scores = ids.map((id) => Math.round(report.categories[id].score * 100));
console.log([page.padEnd(22), size.padEnd(8), String(scores[0]).padStart(12),
             String(scores[1]).padStart(14), String(scores[2]).padStart(15),
             String(scores[3]).padStart(4)].join(" "));
for (const id of ids) {
  for (const ref of report.categories[id].auditRefs) {
    const audit = report.audits[ref.id];
    if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
      console.log(`    ${id}: ${ref.id} (${audit.score}): ${audit.title}`);
    }
  }
}
process.exit(scores.some((s) => s < Number(min)) ? 1 : 0);
EOF
        then
            status=1
        fi
    done
done
echo "reports: $OUT"
if [ "$status" -ne 0 ]; then
    echo "audit: a score is below $MIN, or Lighthouse failed" >&2
fi
exit "$status"
