#!/usr/bin/env bash
# Fetches a second, larger corpus for the experiment: the English reStructuredText sources of
# Debian's linux-doc-6.1 (Documentation/**/*.rst.gz, translations left out) and python3.11-doc
# (html/_sources/**/*.rst.txt), one .txt file per source document, into a git-ignored folder.
# Does nothing when the corpus is already complete.
#
#   scripts/fetch-docs-corpus.sh [DATA_DIR]      (default: <repo>/data)
#
# Result:
#   DATA_DIR/docs/*.txt      one file per document, names flattened from the source paths
#   DATA_DIR/docs/.complete-v1   written last; lists the packages and the document count
# Needs apt-get (with a reachable Debian archive), dpkg-deb and gzip; no root.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${1:-$repo/data}
out="$data/docs"
packages=(linux-doc-6.1 python3.11-doc)
stamp="$out/.complete-v1"

die() { echo "fetch-docs-corpus: $*" >&2; exit 1; }

if [ -f "$stamp" ]; then
  want=$(sed -n 's/^documents=//p' "$stamp")
  have=$(find "$out" -maxdepth 1 -name '*.txt' | wc -l)
  if [ -n "$want" ] && [ "$want" -eq "$have" ]; then
    exit 0
  fi
  echo "fetch-docs-corpus: $out is incomplete ($have of $want documents); fetching again" >&2
fi

for tool in apt-get dpkg-deb gzip; do
  command -v "$tool" >/dev/null || die "$tool is not installed (a Debian or Ubuntu system is needed)."
done

mkdir -p "$data"
tmp=$(mktemp -d "$data/.fetch-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for p in "${packages[@]}"; do
  echo "fetch-docs-corpus: downloading $p"
  if ! (cd "$tmp" && apt-get download "$p" >"$tmp/apt.log" 2>&1); then
    cat "$tmp/apt.log" >&2
    die "apt-get download $p failed: is a Debian archive that carries $p reachable (see apt-get update)?"
  fi
  deb=$(ls "$tmp"/"${p}"_*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || die "apt-get download $p produced no .deb"
  mkdir -p "$tmp/x/$p"
  dpkg-deb -x "$deb" "$tmp/x/$p"
  rm -f "$deb"
done

mkdir -p "$tmp/out"
# Flattened unique name: package prefix + path below the documentation root, '/' -> '__'.
emit() { # $1 = prefix, $2 = root, $3 = relative path, $4 = extension to strip, $5 = gz flag
  local rel=$3 name
  name="$1__$(printf '%s' "${rel%$4}" | sed 's#/#__#g; s#[^A-Za-z0-9._-]#_#g').txt"
  [ -e "$tmp/out/$name" ] && die "duplicate document name $name"
  if [ "$5" = gz ]; then gzip -dc "$2/$rel" > "$tmp/out/$name"; else cp "$2/$rel" "$tmp/out/$name"; fi
}

linux_root="$tmp/x/linux-doc-6.1/usr/share/doc/linux-doc-6.1/Documentation"
[ -d "$linux_root" ] || die "linux-doc-6.1 has no Documentation folder where expected"
while IFS= read -r rel; do
  emit linux "$linux_root" "$rel" .rst.gz gz
done < <(cd "$linux_root" && find . -type f -name '*.rst.gz' ! -path './translations/*' | sed 's#^\./##' | LC_ALL=C sort)

py_root="$tmp/x/python3.11-doc/usr/share/doc/python3.11/html/_sources"
[ -d "$py_root" ] || die "python3.11-doc has no html/_sources folder where expected"
while IFS= read -r rel; do
  emit python "$py_root" "$rel" .rst.txt plain
done < <(cd "$py_root" && find . -type f -name '*.rst.txt' | sed 's#^\./##' | LC_ALL=C sort)

n=$(find "$tmp/out" -maxdepth 1 -name '*.txt' | wc -l)
[ "$n" -gt 1000 ] || die "only $n documents found: the packages' layout changed?"
bytes=$(cat "$tmp"/out/*.txt | wc -c)

rm -rf "$out"
mv "$tmp/out" "$out"
{ printf 'packages=%s\n' "${packages[*]}"; printf 'documents=%s\n' "$n"; printf 'bytes=%s\n' "$bytes"; } > "$stamp.tmp"
mv "$stamp.tmp" "$stamp"
echo "fetch-docs-corpus: $n documents, $bytes bytes ($((bytes / 1048576)) MiB) in $out"
