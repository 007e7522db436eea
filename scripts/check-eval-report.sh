#!/usr/bin/env bash
# Checks that an `hope eval` output folder is complete: every section, every main variant, numbers, and the plots.
# Usage: scripts/check-eval-report.sh DIR
set -euo pipefail
dir="${1:?usage: scripts/check-eval-report.sh DIR}"
report="$dir/report.md"
fail() { echo "eval report incomplete: $*" >&2; exit 1; }
[ -s "$report" ] || fail "no $report"
for section in "## Domain cycling" "## Knowledge incorporation" "## In-record recall" "## Keyed knowledge" "## Summary"; do
  grep -qF "$section" "$report" || fail "section '$section' missing"
done
for v in hope hope+anchor single- slowest frozen memory-off hope+ctx hope+ctx+anchor ctx-only ppm ppm-key ppm-primed hope+kan-low hope+ticks; do
  grep -qF "| \`$v" "$report" || fail "variant $v missing from the tables"
done
grep -q "(best sweep)" "$report" || fail "no single-frequency sweep winner"
# the final-average column of the cycling table holds numbers
if grep -E '^\| `hope` \| n/a' "$report" >/dev/null; then fail "hope has no final average"; fi
for png in cycling prequential knowledge keyed; do
  f="$dir/$png.png"
  [ -s "$f" ] || fail "no $f"
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "$f is not a PNG"
done
echo "eval report complete: $report"
