#!/usr/bin/env bash
# GPU check of a clean clone: builds with the CUDA natives (-Pgpu), runs `bench --device gpu` for every preset
# and batch size, runs the crash-recovery test with the children on the GPU, and prints one summary table.
#
# Usage: scripts/gpu-check.sh [--presets tiny,small,base] [--batch-records 1,4,8,16,32] [--records N]
#                             [--tolerance T] [--no-crash-test] [--no-bench] [--bench-args "ARGS"]
#                             [--bundle DIR|FILE] [--device gpu|cpu] [--dry-run] [-h|--help]
#
# Run it from the repository root of a clone, on a machine with an NVIDIA GPU, its driver (nvidia-smi) and
# network access to Maven Central (the first -Pgpu build downloads pytorch-native-cu124, about 2 GB).
# --bundle: a machine with no network, no Maven and maybe no Java, but with its own CUDA PyTorch for python3:
# give it what scripts/gpu-bundle.sh made (the tar.xz, or the folder it was unpacked into). The check then
# builds DJL's PyTorch JNI against that PyTorch with g++ (DJL loads it through PYTORCH_LIBRARY_PATH), runs the
# bundle's jar with java from the PATH (17 or later) or the bundle's own runtime, and the crash test through
# the JUnit console launcher. The PyTorch version is then the machine's, not the pinned 2.5.1: the table says so.
# --device cpu runs every step on the CPU instead (no nvidia-smi needed): to try a bundle before a GPU is lent.
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
bundle=""
device_opt="gpu"
bench=1
bench_args=""

usage() { sed -n '5,7p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "gpu-check: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --presets) [ $# -ge 2 ] || die "--presets needs a value"; presets="$2"; shift 2 ;;
    --batch-records) [ $# -ge 2 ] || die "--batch-records needs a value"; batches="$2"; shift 2 ;;
    --records) [ $# -ge 2 ] || die "--records needs a value"; records="$2"; shift 2 ;;
    --tolerance) [ $# -ge 2 ] || die "--tolerance needs a value"; tolerance="$2"; shift 2 ;;
    --no-crash-test) crash_test=0; shift ;;
    --no-bench) bench=0; shift ;;
    --bench-args) [ $# -ge 2 ] || die "--bench-args needs a value"; bench_args="$2"; shift 2 ;;
    --device) [ $# -ge 2 ] || die "--device needs a value"; device_opt="$2"; shift 2 ;;
    --bundle) [ $# -ge 2 ] || die "--bundle needs a value"; bundle="$2"; shift 2 ;;
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
  for line in ${results[@]+"${results[@]}"}; do
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

[[ "$device_opt" =~ ^(gpu|cpu)$ ]] || die "--device '$device_opt': expected gpu or cpu"
if [ "$device_opt" = gpu ]; then
  command -v nvidia-smi >/dev/null 2>&1 || die "no GPU visible: nvidia-smi is not installed (this check needs an NVIDIA GPU and its driver)"
  gpus="$(nvidia-smi -L 2>/dev/null || true)"
  [ -n "$gpus" ] || die "no GPU visible: nvidia-smi -L lists none (driver not loaded, or CUDA_VISIBLE_DEVICES hides them)"
else
  gpus="no GPU: --device cpu"
fi
{ [ -f pom.xml ] && [ -d src/main/java/org/hopestreams ]; } || die "run me from the hope-streams repository root"
[ -n "$bundle" ] || command -v mvn >/dev/null 2>&1 || die "mvn is not on the PATH (or give --bundle)"
mkdir -p "$logs"
echo "gpu-check: $(echo "$gpus" | head -1)"

java_cmd=(java)
jar="target/hope-streams.jar"
torch_note=""
if [ -n "$bundle" ]; then
  if [ -f "$bundle" ]; then
    mkdir -p "$logs/bundle"
    echo "gpu-check: unpacking $bundle into $logs/bundle"
    if command -v xz >/dev/null 2>&1; then
      xz -dc "$bundle" | tar -x -C "$logs/bundle"
    else
      python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$bundle" "$logs/bundle"
    fi
    bundle="$logs/bundle"
  fi
  bundle="$(cd "$bundle" && pwd)"
  [ -f "$bundle/app/hope-streams.jar" ] || die "--bundle $bundle: no app/hope-streams.jar (make it with scripts/gpu-bundle.sh)"
  jar="$bundle/app/hope-streams.jar"
  if command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -q -E 'version "(1[7-9]|[2-9][0-9])'; then
    java_cmd=(java)
  elif [ -x "$bundle/jre/bin/java" ]; then
    java_cmd=("$bundle/jre/bin/java")
  else
    die "no java 17+ on the PATH and the bundle has no jre/"
  fi
  command -v python3 >/dev/null 2>&1 || die "--bundle needs python3 with torch (the machine's own PyTorch)"
  # the C++ ABI of the JNI must be the one that PyTorch was built with (wheels before 2.6 used the old one)
  torch_info="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__); print(torch.version.cuda or ""); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')" \
    || die "python3 cannot import torch"
  torch_dir="$(sed -n 1p <<<"$torch_info")"; torch_version="$(sed -n 2p <<<"$torch_info")"; torch_cuda="$(sed -n 3p <<<"$torch_info")"
  torch_abi="$(sed -n 4p <<<"$torch_info")"
  pt_version="${torch_version%%+*}"
  pt_flavor="${torch_version#*+}"; [ "$pt_flavor" != "$torch_version" ] || pt_flavor="cpu"
  djl_version="$(cat "$bundle/djl-jni/VERSION")"
  cache="$logs/djl-cache"
  jni_dir="$cache/pytorch/$pt_version-$pt_flavor-linux-x86_64"
  jni="$jni_dir/$djl_version-libdjl_torch.so"
  mkdir -p "$jni_dir" "$logs/jni-obj"
  rm -f "$jni" "$logs"/jni-obj/*.o "$logs"/jni-obj/*.err
  echo "gpu-check: building DJL $djl_version's PyTorch JNI against $torch_dir (torch $torch_version, CUDA $torch_cuda; log: $logs/jni.log)"
  cxx="${CXX:-$(command -v g++ || command -v c++ || command -v clang++ || true)}"
  [ -n "$cxx" ] || die "--bundle needs a C++ compiler (g++, c++ or clang++) to build the JNI"
  export cxx
  flags=(-O2 -fPIC -std=c++17 -D_GLIBCXX_USE_CXX11_ABI="$torch_abi" -w -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include"
         -I"$bundle/jni-include" -I"$bundle/jni-include/linux" -I"$bundle/djl-jni/include")
  export flags_line="${flags[*]}"
  if ! ls "$bundle"/djl-jni/native/*.cc | xargs -P "$(nproc)" -I{} sh -c \
      '"$cxx" $flags_line -c "$1" -o "$2/$(basename "$1" .cc).o" 2>"$2/$(basename "$1" .cc).err" || { cat "$2/$(basename "$1" .cc).err"; exit 1; }' \
      _ {} "$logs/jni-obj" >"$logs/jni.log" 2>&1 \
     || ! "$cxx" -shared -o "$jni" "$logs"/jni-obj/*.o -L"$torch_dir/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 \
          -Wl,-rpath,"$torch_dir/lib" >>"$logs/jni.log" 2>&1; then
    head -40 "$logs/jni.log" >&2; echo "gpu-check: the JNI did not build against this PyTorch" >&2; exit 1
  fi
  # DJL counts GPUs through libcudart (JNA asks for libcudart.so by that name): point it at the CUDA runtime
  cudart="$(find "$(dirname "$torch_dir")/nvidia" /usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib \
             -name 'libcudart.so*' 2>/dev/null | sort | tail -1 || true)"
  if [ -n "$cudart" ]; then
    mkdir -p "$logs/cudart"; ln -sf "$cudart" "$logs/cudart/libcudart.so"
    export LD_LIBRARY_PATH="$(cd "$logs/cudart" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  elif [ "$device_opt" = gpu ]; then
    die "no libcudart.so* next to torch or under /usr/local/cuda*"
  fi
  export DJL_CACHE_DIR="$(cd "$cache" && pwd)" PYTORCH_LIBRARY_PATH="$torch_dir/lib" PYTORCH_VERSION="$pt_version" PYTORCH_FLAVOR="$pt_flavor"
  torch_note="; PyTorch $torch_version from python3, not the pinned build"
else
  echo "gpu-check: building with -Pgpu (log: $logs/build.log)"
  mvn -B -Pgpu -DskipTests package >"$logs/build.log" 2>&1 || { tail -30 "$logs/build.log" >&2; echo "gpu-check: build failed" >&2; exit 1; }
fi

status=0
device="${device_opt^^}$torch_note"
IFS=',' read -r -a preset_list <<<"$presets"
[ "$bench" = 1 ] || preset_list=()
for preset in ${preset_list[@]+"${preset_list[@]}"}; do
  log="$logs/bench-$preset.log"
  echo "gpu-check: bench --device $device_opt --presets $preset --batch-records $batches $bench_args (log: $log)"
  if "${java_cmd[@]}" -jar "$jar" bench --device "$device_opt" --presets "$preset" --batch-records "$batches" \
      --records "$records" $bench_args >"$log" 2>&1; then
    device="$(grep -m1 '^device ' "$log" | cut -d, -f1 || true)$torch_note"
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
  echo "gpu-check: CrashRecoveryTest with the children on device $device_opt, tolerance $tolerance (log: $log)"
  if [ -n "$bundle" ] && ! ls -d target/apicurio-registry-*/lib >/dev/null 2>&1; then
    echo "gpu-check: the crash test needs the Apicurio Registry server in target/apicurio-registry-* (scripts/gpu-bundle.sh --registry-out packs it)" >&2
    crash_cmd=(false)
  elif [ -n "$bundle" ]; then
    crash_cmd=("${java_cmd[@]}" -Xmx3g -Dai.djl.offline=true -Dai.djl.pytorch.num_interop_threads=1
      -Dhope.test.device="$device_opt" -Dhope.test.tolerance="$tolerance" -Dhope.log.level.org.apache.kafka=warn
      -Dhope.log.level.kafka=warn -Dhope.log.level.state.change.logger=warn
      -cp "$bundle/test-classes:$jar:$bundle/app/lib/*:$bundle/junit/*" org.junit.platform.console.ConsoleLauncher
      execute --select-class org.hopestreams.stream.CrashRecoveryTest --details=tree --disable-banner --fail-if-no-tests)
  else
    crash_cmd=(mvn -B -o -Pgpu -Dhope.test.device="$device_opt" -Dhope.test.tolerance="$tolerance" -Dtest=CrashRecoveryTest
      -Dsurefire.forkCount=1 test)
  fi
  if "${crash_cmd[@]}" >"$log" 2>&1; then
    crash="passed (tolerance $tolerance; target/crash-recovery/*summary.txt)"
  else
    tail -30 "$log" >&2
    crash="FAILED (see $log)"
    status=1
  fi
fi

print_summary "$device" "$crash"
exit "$status"
