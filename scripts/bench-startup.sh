#!/usr/bin/env bash
# Warm start-up figures of the CLI: RUNS runs (default 7) of each command after one untimed run
# (fills the layer cache and the compile cache), medians of wall, user+sys CPU and peak RSS.
# Usage: scripts/bench-startup.sh [--cold] [TARGET...]   (default: the bench images, every source)
# --cold: an empty layer cache for every run (V8's code cache stays warm).
# Env: RUNS, BENCH_IMAGES (default /tmp/bench/images), PORTCULLIS (default: bin/portcullis.js).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
IMG=${BENCH_IMAGES:-/tmp/bench/images}
NODE=node_modules/node/bin/node
CLI=${PORTCULLIS:-bin/portcullis.js}
cold=0
if [[ ${1:-} == --cold ]]; then cold=1; shift; fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for i in minbase python large node distroless; do
    targets+=("oci:$IMG/oci/$i:latest" "docker-archive:$IMG/docker/$i.tar" "oci-archive:$IMG/oci-archive/$i.tar")
  done
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export PORTCULLIS_CACHE_DIR=${PORTCULLIS_CACHE_DIR:-$out/cache}
TIMEFORMAT='%3R %3U %3S'
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-58s %8s %8s %8s\n' target wall_ms cpu_ms rss_MB
for t in "${targets[@]}"; do
  if [[ $t == --version ]]; then cmd=("$NODE" "$CLI" --version)
  else cmd=("$NODE" "$CLI" sbom "$t" --format cyclonedx --output "$out/sbom.json"); fi
  [[ $cold == 1 ]] || "${cmd[@]}" >/dev/null
  : >"$out/w"; : >"$out/c"; : >"$out/m"
  for ((r = 0; r < RUNS; r++)); do
    [[ $cold == 0 ]] || rm -rf "$PORTCULLIS_CACHE_DIR"
    { time /usr/bin/time -f '%M' -o "$out/rss" "${cmd[@]}" >/dev/null; } 2>"$out/t"
    read -r real user sys <"$out/t"
    awk -v r="$real" 'BEGIN{print r*1000}' >>"$out/w"
    awk -v u="$user" -v s="$sys" 'BEGIN{print (u+s)*1000}' >>"$out/c"
    awk '{print $1/1024}' "$out/rss" >>"$out/m"
  done
  printf '%-58s %8.0f %8.0f %8.1f\n' "${t#"$IMG/"}" "$(median <"$out/w")" "$(median <"$out/c")" "$(median <"$out/m")"
done
