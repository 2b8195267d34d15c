#!/usr/bin/env bash
# The experiment behind the README's results table, in one command: fetches the SOTU corpus and
# tokenizer (scripts/fetch-data.sh) and the Debian documentation corpus
# (scripts/fetch-docs-corpus.sh), then runs `scone experiment` through the -Prun launcher.
#
#   scripts/run-experiment.sh [experiment options...]
#
# Extra arguments go to `scone experiment` (e.g. --only main,vsize --seeds 3 --tokens 524288,
# --dry-run, --report-only; see `--help`). Results go to out/experiment/ by default
# (results.jsonl, RESULTS.md, plot-*.png); rerunning resumes after the last finished arm.
# Environment: SCONE_DATA (data folder, default <repo>/data), MVN (default mvn), MVN_FLAGS (extra
# Maven flags, e.g. -o for offline).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${SCONE_DATA:-$repo/data}
mvn=${MVN:-mvn}

bash "$repo/scripts/fetch-data.sh" "$data"

# The docs corpus is needed only by the docs groups: fetch it unless the run is limited to others.
need_docs=1
prev=
for a in "$@"; do
  if [ "$prev" = "--only" ]; then v=$a; else v=; fi
  case "$a" in --only=*) v=${a#--only=} ;; esac
  if [ -n "$v" ] && ! printf '%s' ",$v," | grep -q ',docs'; then need_docs=0; fi
  prev=$a
done
if [ "$need_docs" -eq 1 ]; then
  bash "$repo/scripts/fetch-docs-corpus.sh" "$data"
fi

# Quote every argument for Maven's single -Dscone.args string.
args="experiment --data $data"
for a in "$@"; do
  case "$a" in
    *[[:space:]\"\']*) die_msg="argument with spaces or quotes: $a"; echo "run-experiment: $die_msg" >&2; exit 2 ;;
  esac
  args="$args $a"
done

cd "$repo"
# shellcheck disable=SC2086
exec "$mvn" -B ${MVN_FLAGS:-} -DskipTests -Dscone.skipFetch=true -Dscone.data.dir="$data" -Prun verify \
  -Dscone.args="$args"
