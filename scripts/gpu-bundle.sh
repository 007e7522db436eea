#!/usr/bin/env bash
# Packs what `scripts/gpu-check.sh --bundle` needs on a GPU machine that has an NVIDIA driver and its own
# PyTorch (python3 -c 'import torch') but no network, no Maven and maybe no Java: the application jar and its
# runtime jars (without the CPU PyTorch natives, other platforms' natives stripped), the test classes and the
# JUnit console launcher for the crash test, a Java runtime made with jlink, and the C++ sources of DJL's
# PyTorch JNI (version of pom.xml's djl.version) so that the check can build the JNI against that machine's
# PyTorch. One xz-compressed tar, small enough to travel (about 50 MB).
#
# Usage: scripts/gpu-bundle.sh --djl-src DIR [--out FILE] [--registry-out FILE] [--no-jre]
#   --djl-src DIR        a git clone of github.com/deepjavalibrary/djl (any branch: the tag v<djl.version> is read)
#   --out FILE           default target/gpu-bundle.tar.xz
#   --registry-out FILE  also pack the Apicurio Registry server that the crash test starts (about 55 MB more, so
#                        a second file): unpack it into the GPU machine's target/ before gpu-check runs
#   --no-jre             leave the Java runtime out (the GPU machine has java 17+ on its PATH)
# Needs: mvn (online once, for the JUnit console launcher), jlink, javac, git, zip, unzip, xz.
set -euo pipefail

djl_src=""
out="target/gpu-bundle.tar.xz"
registry_out=""
jre=1
die() { echo "gpu-bundle: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --djl-src) [ $# -ge 2 ] || die "--djl-src needs a value"; djl_src="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out="$2"; shift 2 ;;
    --registry-out) [ $# -ge 2 ] || die "--registry-out needs a value"; registry_out="$2"; shift 2 ;;
    --no-jre) jre=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$djl_src" ] || die "--djl-src DIR is required (a clone of github.com/deepjavalibrary/djl)"
{ [ -f pom.xml ] && [ -d src/main/java/org/hopestreams ]; } || die "run me from the hope-streams repository root"

djl_version="$(sed -n 's:.*<djl.version>\(.*\)</djl.version>.*:\1:p' pom.xml | head -1)"
[ -n "$djl_version" ] || die "pom.xml has no <djl.version>"
git -C "$djl_src" rev-parse -q --verify "v$djl_version^{commit}" >/dev/null \
  || die "$djl_src has no tag v$djl_version (a clone of github.com/deepjavalibrary/djl with its tags?)"
junit_version="$(sed -n 's:.*<junit.version>5\.\([0-9.]*\)</junit.version>.*:1.\1:p' pom.xml | head -1)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
b="$work/bundle"
mkdir -p "$b/app/lib" "$b/junit" "$b/djl-jni/include" "$b/jni-include/linux"

echo "gpu-bundle: building the application and its test classes"
mvn -q -B -DskipTests package
mvn -q -B dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_version" \
  -DoutputDirectory="$b/junit"
cp target/hope-streams.jar "$b/app/"
cp -r target/test-classes "$b/test-classes"

echo "gpu-bundle: runtime jars (no CPU PyTorch natives; Linux x86-64 natives only)"
for j in target/lib/*.jar; do
  n="$(basename "$j")"
  case "$n" in pytorch-native-*|pytorch-jni-*) continue ;; esac
  cp "$j" "$b/app/lib/"
done
strip_jar() { local jar="$1"; shift; zip -q -d "$jar" "$@" >/dev/null 2>&1 || true; }
for j in "$b"/app/lib/rocksdbjni-*.jar; do
  strip_jar "$j" '*musl*' '*linux32*' '*osx*' '*ppc64le*' '*aarch64*' '*s390x*' '*riscv64*' '*win64*'
done
for j in "$b"/app/lib/zstd-jni-*.jar; do
  strip_jar "$j" 'aix/*' 'darwin/*' 'freebsd/*' 'linux/aarch64/*' 'linux/arm/*' 'linux/i386/*' 'linux/loongarch64/*' \
    'linux/mips64/*' 'linux/ppc64/*' 'linux/ppc64le/*' 'linux/riscv64/*' 'linux/s390x/*' 'win/*'
done
for j in "$b"/app/lib/snappy-java-*.jar; do
  strip_jar "$j" 'org/xerial/snappy/native/AIX/*' 'org/xerial/snappy/native/Mac/*' 'org/xerial/snappy/native/Windows/*' \
    'org/xerial/snappy/native/FreeBSD/*' 'org/xerial/snappy/native/SunOS/*'
done
for j in "$b"/app/lib/jna-*.jar; do
  strip_jar "$j" 'com/sun/jna/win32*' 'com/sun/jna/darwin*' 'com/sun/jna/aix*' 'com/sun/jna/sunos*' \
    'com/sun/jna/freebsd*' 'com/sun/jna/openbsd*' 'com/sun/jna/dragonfly*'
done
# xz packs class files far better than zip does: store the jars uncompressed inside the tar
store_jars() {
  local j d
  for j in "$@"; do
    d="$(mktemp -d)"
    (cd "$d" && unzip -q -o "$j" && rm -f "$j" && zip -q -0 -r -X "$j" .)
    rm -rf "$d"
  done
}
store_jars "$b"/app/lib/*.jar

echo "gpu-bundle: DJL $djl_version PyTorch JNI sources"
git -C "$djl_src" archive "v$djl_version" engines/pytorch/pytorch-native/src/main/native api/src/main/native \
  engines/pytorch/pytorch-engine/src/main/java/ai/djl/pytorch/jni | tar -x -C "$work"
mv "$work/engines/pytorch/pytorch-native/src/main/native" "$b/djl-jni/native"
mv "$work/api/src/main/native/djl" "$b/djl-jni/include/djl"
javac -cp "$(ls target/lib/*.jar | tr '\n' ':')" -h "$b/djl-jni/include" -d "$work/classes" \
  "$work/engines/pytorch/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java"
echo "$djl_version" >"$b/djl-jni/VERSION"
java_home="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
cp "$java_home/include/jni.h" "$b/jni-include/"
cp "$java_home/include/linux/jni_md.h" "$b/jni-include/linux/"

if [ "$jre" = 1 ]; then
  echo "gpu-bundle: Java runtime (jlink)"
  jlink --add-modules java.base,java.logging,java.management,java.naming,java.sql,java.xml,jdk.unsupported,java.desktop,java.net.http,java.security.jgss,jdk.crypto.ec,java.scripting,jdk.management,java.instrument,jdk.zipfs,java.compiler,jdk.jfr,java.security.sasl,jdk.management.agent,java.rmi,jdk.security.auth,jdk.naming.dns,jdk.jcmd \
    --strip-debug --no-header-files --no-man-pages --output "$b/jre"
fi

mkdir -p "$(dirname "$out")"
tar -C "$b" -cf - . | xz -9 -T0 >"$out"
echo "gpu-bundle: wrote $out ($(du -h "$out" | cut -f1))"

if [ -n "$registry_out" ]; then
  home="$(ls -d target/apicurio-registry-* 2>/dev/null | head -1)"
  [ -n "$home" ] || die "no target/apicurio-registry-* (mvn process-resources unpacks it)"
  r="$work/registry"
  mkdir -p "$r"
  cp -r "$home" "$r/"
  rm -f "$r/$(basename "$home")"/*.log
  store_jars "$r/$(basename "$home")"/lib/*.jar
  mkdir -p "$(dirname "$registry_out")"
  tar -C "$r" -cf - . | xz -9 -T0 >"$registry_out"
  echo "gpu-bundle: wrote $registry_out ($(du -h "$registry_out" | cut -f1)): unpack it into target/ on the GPU machine"
fi
