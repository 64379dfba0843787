#!/usr/bin/env bash
# Dev helper: render a few combinations from the working tree and run ruff on each.
# usage: scripts/render_check.sh [ruff binary]
set -u
ruff=${1:-ruff}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${RENDER_CHECK_DIR:-/tmp/render-check}
rm -rf "$out"; mkdir -p "$out"
status=0
for spec in "sqlite true true memory" "sqlite false true memory" "postgresql true true redis" \
            "postgresql false true redis" "sqlite true false memory" "postgresql false false memory"; do
  set -- $spec
  id="$1-$2-$3-$4"
  "$root/.venv/bin/copier" copy --trust --defaults --quiet --data database=$1 --data use_async=$2 \
    --data rate_limiting=$3 --data rate_limit_storage=$4 "$root" "$out/$id" 2>/dev/null
  (cd "$out/$id" && "$ruff" check --output-format concise -q . && "$ruff" format --check -q .) \
    || { echo "== $id failed"; status=1; }
done
exit $status
