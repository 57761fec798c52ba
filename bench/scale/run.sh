#!/usr/bin/env bash
# `make bench-scale`: do logins slow down as the population grows? For each
# backend (BACKENDS, default "sqlite postgresql"), bench_load bulk-loads
# SMALL synthetic citizens (default 10 000: real sealed registry records,
# identities, devices with CA-issued certificates, enrollment audit events;
# not through the face engine), the load generator of bench-oidc runs
# complete logins for DURATION seconds with WALLETS citizens sampled across
# them, then the load grows to LARGE citizens (default 10 000 000) and the
# same logins run again with citizens sampled across the whole range.
# Prints logins/s, p50 and p99 at both sizes, the p99 ratio (target: at
# most 1.5), and the bytes stored per citizen (tables and indexes). Each
# size is measured RUNS times (default 3: a server restarted and new
# connections each time, since the server's worker threads share the
# connections out unevenly, differently each run, which moves the p99 by
# a factor of four on its own), each after a WARMUP-second (default 5)
# untimed run; the figures compared are the runs' medians. Disk:
# about 3.5 KB per citizen per backend, freed after each backend.
# Everything goes in build-bench-scale/ (PostgreSQL under /tmp).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build}
small=${SMALL:-10000}
large=${LARGE:-10000000}
backends=${BACKENDS:-sqlite postgresql}
wallets=${WALLETS:-16}
concurrency=${CONCURRENCY:-16}
duration=${DURATION:-20}
warmup=${WARMUP:-5}
runs=${RUNS:-3}
threads=${LOAD_THREADS:-2}
work="$root/build-bench-scale"

[ "$large" -gt "$small" ] || { echo "bench-scale: LARGE must exceed SMALL" >&2; exit 2; }
cmake --build "$build" --target bench_load >/dev/null
loader="$build/bench/bench_load"
rm -rf "$work"
mkdir -p "$work"
server_pid=""
cluster=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -z "$cluster" ] || "$root/tests/lib/pg-cluster.sh" remove "$cluster" || true
}
trap cleanup EXIT

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
wait_http() {
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "bench-scale: $1 does not answer" >&2; return 1
}

# Bytes of every table and index of the database, over citizens.
bytes_per_citizen() {
  local backend=$1 data=$2 citizens=$3 bytes
  if [ "$backend" = sqlite ]; then
    sqlite3 "$data/cyberid.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    bytes=$(stat -c %s "$data/cyberid.db")
  else
    bytes=$(psql -X -A -t "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).database)' "$data/config.json")" -c \
      "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace")
  fi
  echo $((bytes / citizens))
}

# measure BACKEND SIZE WALLET_DIR: RUNS times serve, logins, stop; a
# JSON line per run.
measure() {
  local backend=$1 size=$2 wallet_dir=$3 dir="$work/$1" bytes run
  # What the load stored, before the logins add their own rows.
  bytes=$(bytes_per_citizen "$backend" "$dir/data" "$size")
  for run in $(seq 1 "$runs"); do
    measure_once "$backend" "$size" "$wallet_dir" "$bytes" "$run"
  done
}

measure_once() {
  local backend=$1 size=$2 wallet_dir=$3 bytes=$4 run=$5 dir="$work/$1"
  # One loopback address makes every login: no per-address limit.
  "$build/cyberid" serve --data "$dir/data" --listen "127.0.0.1:$port" --log-level warn \
    --authorize-per-address 0 2>>"$dir/serve.log" &
  server_pid=$!
  wait_http "$url/healthz"
  node -e '
  const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const fs = require("fs"), path = require("path");
  const wallets = fs.readdirSync(process.argv[3]).map((f) => path.join(process.argv[3], f));
  console.log(JSON.stringify({ url: process.argv[2], issuer: process.argv[2], wallets,
    client_id: p.client_id, client_secret: p.client_secret, redirect_uri: "http://127.0.0.1:8080/cb" }));
  ' "$dir/platform.json" "$url" "$wallet_dir" >"$dir/config-$size.json"
  local line
  # A warm-up first, the same at both sizes: the bulk load has filled the
  # page cache with what it wrote, not with what the sampled logins read.
  line=$(SERVER_PID=$server_pid CLK_TCK=$(getconf CLK_TCK) WARMUP=$warmup \
    node "$root/bench/oidc/bench.mjs" cyberid-login "$concurrency" "$duration" "$dir/config-$size.json")
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  echo "$line" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const r = JSON.parse(s);
    Object.assign(r, { backend: process.argv[1], citizens: Number(process.argv[2]),
      bytes_per_citizen: Number(process.argv[3]), run: Number(process.argv[4]) });
    console.log(JSON.stringify(r));
  });' "$backend" "$size" "$bytes" "$run"
}

echo "bench-scale: $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "bench-scale: $small then $large citizens; logins by $wallets sampled citizens, concurrency $concurrency, $duration s"
results="$work/results.jsonl"
: >"$results"
for backend in $backends; do
  dir="$work/$backend"
  mkdir -p "$dir/wallets-small" "$dir/wallets-large"
  db=()
  if [ "$backend" = postgresql ]; then
    cluster="${TMPDIR:-/tmp}/cyberid-scale-$$"
    db=(--db "$("$root/tests/lib/pg-cluster.sh" start "$cluster" --fsync --async-commit)")
  fi
  "$build/cyberid" init --data "$dir/data" "${db[@]}" >/dev/null
  "$build/cyberid" platform add --data "$dir/data" --name "Scale Shop" \
    --redirect-uri http://127.0.0.1:8080/cb --claims realname_verified >"$dir/platform.json"
  port=$(free_port)
  url="http://127.0.0.1:$port"
  echo "bench-scale: $backend: loading $small citizens"
  "$loader" --data "$dir/data" --issuer "$url" --from 0 --count "$small" --wallets "$wallets" \
    --wallet-dir "$dir/wallets-small" --threads "$threads" | tee -a "$dir/load.jsonl"
  measure "$backend" "$small" "$dir/wallets-small" | tee -a "$results"
  echo "bench-scale: $backend: loading $((large - small)) more citizens"
  "$loader" --data "$dir/data" --issuer "$url" --from "$small" --count "$((large - small))" \
    --wallets "$wallets" --wallet-dir "$dir/wallets-large" --threads "$threads" | tee -a "$dir/load.jsonl"
  measure "$backend" "$large" "$dir/wallets-large" | tee -a "$results"
  # Free the disk before the next backend.
  rm -rf "$dir/data"
  if [ -n "$cluster" ]; then
    "$root/tests/lib/pg-cluster.sh" remove "$cluster"
    cluster=""
  fi
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const median = (values) => { const s = values.map(Number).sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
for (const backend of [...new Set(rows.map((r) => r.backend))]) {
  const sizes = [...new Set(rows.filter((r) => r.backend === backend).map((r) => r.citizens))].sort((a, b) => a - b);
  const summary = sizes.map((citizens) => {
    const runs = rows.filter((r) => r.backend === backend && r.citizens === citizens);
    return { citizens, per_sec: median(runs.map((r) => r.per_sec)), p50: median(runs.map((r) => r.p50_ms)),
      p99: median(runs.map((r) => r.p99_ms)), p99s: runs.map((r) => r.p99_ms).join(", "),
      bytes: runs[0].bytes_per_citizen, errors: runs.reduce((n, r) => n + r.errors, 0) };
  });
  for (const r of summary) {
    console.log(`${backend.padEnd(10)} ${String(r.citizens).padStart(9)} citizens: ${String(r.per_sec).padStart(7)} logins/s ` +
      `p50 ${r.p50} ms p99 ${r.p99} ms (medians; p99 of the runs: ${r.p99s}), ${r.bytes} bytes per citizen, errors ${r.errors}`);
  }
  const [small, large] = [summary[0], summary[summary.length - 1]];
  const ratio = large.p99 / small.p99;
  console.log(`${backend.padEnd(10)} p99 at ${large.citizens} / p99 at ${small.citizens}: ${ratio.toFixed(2)}x ` +
    `(target at most 1.5x: ${ratio <= 1.5 ? "met" : "NOT met"}); logins/s ratio ${(large.per_sec / small.per_sec).toFixed(2)}x`);
}
' "$results"
