#!/usr/bin/env bash
# Run every Gongxin benchmark at one scale and tee all output to a file.
#
# Usage: bench/run_all.sh [--quick] [--out FILE]
#   (default)  1,000,000-entry log: ~30 min on 2 cores, of which ~8 min build the log once
#   --quick    100,000-entry log: ~8 min
#
# The demo log is built once into $GONGXIN_BENCH_CACHE (default /tmp/gongxin-bench), as
# 1m.db or 100000.db, and shared by append.py (flatness; it appends to a copy), proofs.py
# and verify.py (which also caches the export bundle next to it). Delete the cache to
# rebuild. Every script prints the raw primitives it is compared with, measured in the
# same run. Exit status: non-zero if any benchmark failed to run (targets missed are
# reported as FAIL in the output, not as an exit status).
set -uo pipefail
cd "$(dirname "$0")/.."

SCALE=1000000
STEM=1m
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) SCALE=100000; STEM=100000 ;;
    --out) OUT="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

CACHE="${GONGXIN_BENCH_CACHE:-/tmp/gongxin-bench}"
export GONGXIN_BENCH_CACHE="$CACHE"
mkdir -p "$CACHE"
DB="$CACHE/$STEM.db"
OUT="${OUT:-$CACHE/results-$STEM-$(date +%Y%m%d-%H%M%S).txt}"
PY="${PYTHON:-.venv/bin/python}"

failed=()
step() {
  local name="$1"; shift
  echo
  echo "######## $name: $*"
  local t0=$SECONDS
  if "$@"; then
    echo "######## $name: done in $((SECONDS - t0)) s"
  else
    echo "######## $name: FAILED (exit $?) after $((SECONDS - t0)) s"
    failed+=("$name")
  fi
}

{
  echo "Gongxin benchmarks, scale $SCALE, $(date -u +%Y-%m-%dT%H:%M:%SZ), cache $CACHE"
  echo "git $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
  step primitives "$PY" bench/primitives.py --repeats 5
  step build "$PY" bench/fixtures.py --db "$DB" --entries "$SCALE"
  step append "$PY" bench/append.py --large "$SCALE" --large-db "$DB"
  step proofs "$PY" bench/proofs.py --db "$DB" --entries "$SCALE"
  step verify "$PY" bench/verify.py --db "$DB" --entries "$SCALE"
  echo
  if [ ${#failed[@]} -eq 0 ]; then
    echo "all benchmarks ran; output in $OUT"
  else
    echo "benchmarks that failed to run: ${failed[*]}; output in $OUT"
  fi
  [ ${#failed[@]} -eq 0 ]
} 2>&1 | tee "$OUT"
exit "${PIPESTATUS[0]}"
