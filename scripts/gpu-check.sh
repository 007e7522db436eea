#!/usr/bin/env bash
# GPU check of a clean clone: builds with the CUDA natives (-Pgpu), runs `bench --device gpu` for every preset
# and batch size, runs the crash-recovery test with the children on the GPU, and prints one summary table.
#
# Usage: scripts/gpu-check.sh [--presets tiny,small,base] [--batch-records 1,4,8,16,32] [--records N]
#                             [--tolerance T] [--no-crash-test] [--dry-run] [-h|--help]
#
# Run it from the repository root of a clone, on a machine with an NVIDIA GPU, its driver (nvidia-smi) and
# network access to Maven Central (the first -Pgpu build downloads pytorch-native-cu124, about 2 GB).
# The crash test compares a SIGKILLed run with an uninterrupted one; GPU kernels are not bit-exact from run to
# run, so floats must agree within --tolerance (absolute, default 1e-3; counters and checkpoints stay exact).
# Logs go to target/gpu-check/. --dry-run checks no GPU and builds nothing: it runs the argument handling and
# the summary table on a canned bench output, so the script's own parts can be tested anywhere.
# Exit status: 0 when every step passed, 1 when one failed, 2 for bad arguments or no GPU.
set -euo pipefail

presets="tiny,small,base"
batches="1,4,8,16,32"
records=40
tolerance="1e-3"
crash_test=1
dry_run=0

usage() { sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "gpu-check: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --presets) [ $# -ge 2 ] || die "--presets needs a value"; presets="$2"; shift 2 ;;
    --batch-records) [ $# -ge 2 ] || die "--batch-records needs a value"; batches="$2"; shift 2 ;;
    --records) [ $# -ge 2 ] || die "--records needs a value"; records="$2"; shift 2 ;;
    --tolerance) [ $# -ge 2 ] || die "--tolerance needs a value"; tolerance="$2"; shift 2 ;;
    --no-crash-test) crash_test=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

[[ "$presets" =~ ^[a-z]+(,[a-z]+)*$ ]] || die "--presets '$presets': expected names separated by commas, e.g. tiny,small"
[[ "$batches" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--batch-records '$batches': expected positive integers separated by commas"
[[ "$records" =~ ^[1-9][0-9]*$ ]] || die "--records '$records': expected a positive integer"
[[ "$tolerance" =~ ^[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?$ ]] || die "--tolerance '$tolerance': expected a number, e.g. 1e-3"

logs="target/gpu-check"
results=()   # lines: preset|B|learn bytes/s|score bytes/s|ms/record

# Rows of `hope bench` (fixed-width columns, see BenchCommand) as results lines; the score column is empty
# for every B but a preset's first.
parse_bench() {
  awk '/^model  / { header = 1; next }
       header && NF >= 8 && $1 !~ /^(B:|roofline)/ {
         name = substr($0, 1, 18); gsub(/ /, "", name)
         b = substr($0, 37, 4); learn = substr($0, 42, 14); score = substr($0, 57, 14); ms = substr($0, 72, 10)
         gsub(/ /, "", b); gsub(/ /, "", learn); gsub(/ /, "", score); gsub(/ /, "", ms)
         if (score == "") score = "-"
         print name "|" b "|" learn "|" score "|" ms
       }'
}

print_summary() {
  local device="$1" crash="$2"
  echo
  echo "GPU check summary ($device; $records records of 256 bytes per row)"
  printf '%-8s %4s %15s %15s %10s\n' preset B "learn bytes/s" "score bytes/s" ms/record
  local line preset b learn score ms
  for line in "${results[@]}"; do
    IFS='|' read -r preset b learn score ms <<<"$line"
    printf '%-8s %4s %15s %15s %10s\n' "$preset" "$b" "$learn" "$score" "$ms"
  done
  printf '%-8s %s\n' crash "$crash"
}

canned_bench() {
  cat <<'EOF'
device gpu(0), default threads; matmul roofline 41234.5 GFLOP/s (best of 256x128@128x512, 256x512@512x128, 512x512@512x512)
model                  params     b    B  learn bytes/s  score bytes/s  ms/record  speedup ticks/rec   MFLOP/byte  roofline  time per record (ms)
tiny                   37,926    16    1         12,345         45,678      20.74    1.00x      0.00         0.24      0.0%  forward 8.0  backward 7.0
tiny                   37,926    16    4         40,001                      6.40    3.24x      0.00         0.24      0.0%  forward 2.0  backward 2.0
B: records of B distinct keys per forward and backward (hope.batch.records); speedup against the preset's first B
roofline = (learn bytes/s x FLOP/byte) / matmul GFLOP/s
EOF
}

if [ "$dry_run" = 1 ]; then
  echo "gpu-check: dry run (no GPU check, no build, no runs): presets $presets, batch sizes $batches," \
       "$records records, tolerance $tolerance, crash test $([ "$crash_test" = 1 ] && echo on || echo off)"
  while IFS= read -r line; do results+=("$line"); done < <(canned_bench | parse_bench)
  [ "${#results[@]}" -eq 2 ] || { echo "gpu-check: dry run parsed ${#results[@]} bench rows, expected 2" >&2; exit 1; }
  print_summary "dry run, canned bench output" "not run (dry run)"
  exit 0
fi

command -v nvidia-smi >/dev/null 2>&1 || die "no GPU visible: nvidia-smi is not installed (this check needs an NVIDIA GPU and its driver)"
gpus="$(nvidia-smi -L 2>/dev/null || true)"
[ -n "$gpus" ] || die "no GPU visible: nvidia-smi -L lists none (driver not loaded, or CUDA_VISIBLE_DEVICES hides them)"
{ [ -f pom.xml ] && [ -d src/main/java/org/hopestreams ]; } || die "run me from the hope-streams repository root"
command -v mvn >/dev/null 2>&1 || die "mvn is not on the PATH"
mkdir -p "$logs"
echo "gpu-check: $(echo "$gpus" | head -1)"

echo "gpu-check: building with -Pgpu (log: $logs/build.log)"
mvn -B -Pgpu -DskipTests package >"$logs/build.log" 2>&1 || { tail -30 "$logs/build.log" >&2; echo "gpu-check: build failed" >&2; exit 1; }

status=0
device="GPU"
IFS=',' read -r -a preset_list <<<"$presets"
for preset in "${preset_list[@]}"; do
  log="$logs/bench-$preset.log"
  echo "gpu-check: bench --device gpu --presets $preset --batch-records $batches (log: $log)"
  if java -jar target/hope-streams.jar bench --device gpu --presets "$preset" --batch-records "$batches" \
      --records "$records" >"$log" 2>&1; then
    device="$(grep -m1 '^device ' "$log" | cut -d, -f1 || true)"
    while IFS= read -r line; do results+=("$line"); done < <(parse_bench <"$log")
  else
    tail -20 "$log" >&2
    results+=("$preset|-|FAILED|-|-")
    status=1
  fi
done

crash="not run (--no-crash-test)"
if [ "$crash_test" = 1 ]; then
  log="$logs/crash-recovery.log"
  echo "gpu-check: CrashRecoveryTest with the children on the GPU, tolerance $tolerance (log: $log)"
  if mvn -B -o -Pgpu -Dhope.test.device=gpu -Dhope.test.tolerance="$tolerance" -Dtest=CrashRecoveryTest \
      -Dsurefire.forkCount=1 test >"$log" 2>&1; then
    crash="passed (tolerance $tolerance; target/crash-recovery/*summary.txt)"
  else
    tail -30 "$log" >&2
    crash="FAILED (see $log)"
    status=1
  fi
fi

print_summary "$device" "$crash"
exit "$status"
