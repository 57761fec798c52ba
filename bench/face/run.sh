#!/usr/bin/env bash
# `make bench-face`: times the C face engine and face-api on Node (tfjs wasm
# backend) on the same photos, on this machine, in one run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${CYBERID_SHARED_DIR:-$root/../shared}
runs=${RUNS:-5}
build="$root/build-bench-face"
photos=()
for n in 1 3 5 12 17 22 25 34 38 51; do photos+=("$shared/faces/deepface/img$n.jpg"); done
"$root/scripts/fetch-models.sh"
[ -d "$root/bench/face/reference/node_modules" ] ||
  (cd "$root/bench/face/reference" && npm ci --no-audit --no-fund --loglevel=error)
cmake -S "$root/bench/face" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
echo "bench-face: $(date -u +%F), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
node "$root/bench/face/bench.js" "$runs" "${photos[@]}" >"$build/node.json"
OPENBLAS_NUM_THREADS=1 "$build/bench_face" "$root/models" "$runs" "$build/node.json" "${photos[@]}"
