#!/usr/bin/env bash
# Two benchmark commands run at the same time, each pinned to a core of its own, the cores swapped every round;
# prints each round's "learn_bytes_per_s" of both, then the medians and the ratio A / B.
#
# Why: on a shared 2-core host the learner's rate moves by a quarter from one run to the next (5,100 - 8,300
# bytes/s for one build of `bench --presets small --batch-records 1 --threads 1`), so runs one after another cannot
# tell a 5 % change. Two runs at once see the same host at the same moment; pinned, neither moves between cores.
# Rounds of one build against itself spread about +-3 % (README "Speed", "Measuring a change").
#
# Usage: scripts/paired-bench.sh [--rounds N] 'COMMAND A' 'COMMAND B'
#   Each command must print a line with "learn_bytes_per_s": <number> (bench's reference-comparable line, or the
#   PyTorch reference's bench). Give each one engine thread (`--threads 1`): two commands share the machine.
# Example, two builds:
#   scripts/paired-bench.sh --rounds 6 \
#     'java -jar target/hope-old.jar bench --presets small --batch-records 1 --threads 1 --context off --records 150' \
#     'java -jar target/hope-streams.jar bench --presets small --batch-records 1 --threads 1 --context off --records 150'
# (the jar's lib/ folder must sit beside it: copy an old build's jar into target/ under another name).
set -eu
rounds=6
if [ "${1:-}" = "--rounds" ]; then
  rounds=$2; shift 2
fi
if [ $# -ne 2 ]; then
  echo "usage: $0 [--rounds N] 'COMMAND A' 'COMMAND B'" >&2
  exit 2
fi
case "$rounds" in (''|*[!0-9]*|0) echo "--rounds must be a positive whole number, got '$rounds'" >&2; exit 2;; esac
command -v taskset > /dev/null || { echo "taskset (util-linux) is needed to pin each command to a core" >&2; exit 2; }
cores=$(nproc)
if [ "$cores" -lt 2 ]; then
  echo "this machine has $cores core; two commands at once need at least 2" >&2
  exit 2
fi
a=$1; b=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rate() {
  grep -oE '"learn_bytes_per_s": ?[0-9.]+' "$1" | head -1 | grep -oE '[0-9.]+$' || true
}
as=(); bs=()
for i in $(seq 1 "$rounds"); do
  if [ $((i % 2)) = 1 ]; then ca=0; cb=1; else ca=1; cb=0; fi
  taskset -c "$ca" bash -c "$a" > "$work/a.out" 2>&1 &
  pa=$!
  taskset -c "$cb" bash -c "$b" > "$work/b.out" 2>&1 &
  pb=$!
  ra=0; rb=0
  wait "$pa" || ra=$?
  wait "$pb" || rb=$?
  va=$(rate "$work/a.out"); vb=$(rate "$work/b.out")
  if [ "$ra" -ne 0 ] || [ -z "$va" ]; then
    echo "round $i: command A failed (exit $ra) or printed no learn_bytes_per_s; its output ends:" >&2
    tail -5 "$work/a.out" >&2
    exit 1
  fi
  if [ "$rb" -ne 0 ] || [ -z "$vb" ]; then
    echo "round $i: command B failed (exit $rb) or printed no learn_bytes_per_s; its output ends:" >&2
    tail -5 "$work/b.out" >&2
    exit 1
  fi
  echo "round $i: A (core $ca) $va  B (core $cb) $vb bytes/s"
  as+=("$va"); bs+=("$vb")
done
python3 - "${as[*]}" "${bs[*]}" <<'PY'
import sys, statistics as s
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ratios = sorted(x / y for x, y in zip(a, b))
print("A median %.0f (%.0f - %.0f), B median %.0f (%.0f - %.0f) bytes/s; A / B median %.3f, per round %.3f - %.3f"
      % (s.median(a), min(a), max(a), s.median(b), min(b), max(b), s.median(ratios), ratios[0], ratios[-1]))
PY
