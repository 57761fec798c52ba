#!/usr/bin/env bash
# `make bench` (the OpenID Connect part): cyberid (release build) on SQLite,
# on PostgreSQL and on Citus (BACKENDS picks a subset), and oidc-provider (the
# peer in ../shared/reference, state in memory) on this machine, driven one
# after the other by the same load generator with the same concurrency and
# duration: complete logins, then the token endpoint alone. The generator is
# bench/oidc/loadgen.c (built here in BUILD as the `loadgen` target);
# GENERATOR=node runs bench/oidc/bench.mjs instead, the cross-check with the
# same flows and output.
# Each server is measured in the modes MODES names (default both):
#   shared  servers and generator on every core, as the scheduler places them
#   pinned  the server on core 0 (every thread of it and of its children:
#           cyberid's signer process, every PostgreSQL process under each
#           postmaster, pinned while running with `taskset -a -p`, so their
#           later children inherit it) and the generator on core 1
#           (`taskset -c 1`); unpinned again after its runs
# In the pinned mode, with the C generator, each token endpoint run is
# followed by an open loop at half the grants a second it reached (RATE,
# each latency counted from when its request was due): the issue's p99 at
# half the peak, for cyberid and the peer alike.
# The peer runs first and again after cyberid's backends (this VM's speed
# drifts over minutes); both are printed and every ratio uses their mean.
# Prints logins/s, p50 and p99 for each and the ratios, and beside them the
# CPU milliseconds per operation (utime+stime over the timed window, from
# /proc/PID/stat) of the server process and, for PostgreSQL and Citus, of
# every database process, which does not depend on how many cores the load
# generator takes from the server; cyberid's server CPU is that of serve and
# of its signer process together; and the generator's own CPU per operation.
# Last, issue 14's four targets for each backend against the peer, met or not
# (pinned figures, or the CPU ratio of the shared run when only that ran),
# and, after a pinned run, the floor of a login on this machine
# (bench/oidc/floor.sh) against the peer's pinned CPU per login.
# BACKENDS may also name `softhsm`: SQLite with every key in a SoftHSM2 token
# made here (SOFTHSM2_CONF in the run folder). Everything it makes goes in
# build-bench-oidc/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${CYBERID_SHARED_DIR:-$root/../shared}
build=${BUILD:-$root/build}
concurrency=${CONCURRENCY:-32}
duration=${DURATION:-10}
work="$root/build-bench-oidc"
faces="$shared/faces/deepface"
peer_dir="$shared/reference/oidc-provider-peer"

for f in "$build/cyberid" "$build/cyberid-app" "$peer_dir/provider.mjs" "$faces/img62.jpg"; do
  [ -e "$f" ] || { echo "bench-oidc: $f is missing" >&2; exit 1; }
done
rm -rf "$work/run"
mkdir -p "$work/run" "$work/peer"
run="$work/run"
bench_name=bench-oidc
# pids, cleanup, free_port, wait_http, pin_tree
. "$root/bench/oidc/common.sh"

# ---- cyberid: data folder, several citizens enrolled, one platform ----
# WALLETS citizens (8 by default), each with his own ID number and one
# wallet, so that the login flow presents WALLETS different certificates
# (worker w signs with wallet w % WALLETS) and no per-certificate cost is
# paid only once. They share the registry photo and the enrollment frames
# of one person: the face checks only need each enrollment to match its own
# registry row. The ID numbers differ in their sequence digits, each with
# its GB 11643 check digit. One data folder per backend: SQLite in the
# folder, or PostgreSQL / Citus servers started here (tests/lib/
# pg-cluster.sh, fsync on and synchronous_commit off: SQLite's WAL with
# synchronous=NORMAL is as durable), whose processes' CPU is charged too.
wallets=${WALLETS:-8}
backends=${BACKENDS:-sqlite postgresql citus}
node -e '
const [count, photo] = [Number(process.argv[1]), process.argv[2]];
const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const rows = ["national_id,name,birth_date,photo"];
for (let i = 0; i < count; i += 1) {
  const body = `11010519800504${String(31 + i).padStart(3, "0")}`;
  const sum = [...body].reduce((s, d, k) => s + Number(d) * weights[k], 0);
  rows.push(`${body}${"10X98765432"[sum % 11]},王伟,1980-05-04,${photo}`);
}
console.log(rows.join("\n"));
' "$wallets" "$faces/img62.jpg" >"$run/registry.csv"
# The app enrolls each citizen: selfie img17, turn frames img59 (his own
# right) and img59 mirrored by an EXIF orientation 2 segment (his left), as
# tests/integration/enroll.test.mjs does.
node -e '
const fs = require("fs");
const jpeg = fs.readFileSync(process.argv[1]);
const exif = Buffer.from("4578696600004d4d002a00000008000101120003000000010002000000000000", "hex");
const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0, exif.length + 2]), exif]);
fs.writeFileSync(process.argv[2], Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]));
' "$faces/img59.jpg" "$run/img59-mirrored.jpg"
pg_clusters=()
cleanup_pg() { for dir in "${pg_clusters[@]}"; do "$root/tests/lib/pg-cluster.sh" remove "$dir" || true; done; }
trap 'cleanup; cleanup_pg' EXIT

# setup_backend NAME: data folder, registry, platform, serve, enrollments;
# writes $run/NAME/cyberid.json and sets server_pid and db_pids.
setup_backend() {
  local name=$1 dir="$run/$1" init_args=()
  mkdir -p "$dir"
  db_pids=""
  case $name in
    postgresql|citus)
      local cluster="${TMPDIR:-/tmp}/cyberid-bench-$name-$$" extra=()
      [ "$name" = citus ] && extra=(--citus 2)
      pg_clusters+=("$cluster")
      # --naptime 1: autovacuum's ANALYZE every second rather than every
      # minute. The tables start empty and a run lasts seconds; without it
      # the planner costs the prepared statements' generic plans on the
      # empty tables' statistics for the whole run, and the token lookup
      # by (web_number, token_hash) went through the index on (web_number,
      # grant_id), reading every token of the citizen (docs/bench.md,
      # "PostgreSQL's statistics").
      init_args=(--db "$("$root/tests/lib/pg-cluster.sh" start "$cluster" --fsync --async-commit --naptime 1 "${extra[@]}")")
      for pidfile in "$cluster"/node*/postmaster.pid; do
        db_pids="${db_pids:+$db_pids,}$(head -n 1 "$pidfile")"
      done ;;
    softhsm)
      mkdir -p "$dir/tokens"
      printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$dir/tokens" >"$dir/softhsm2.conf"
      export SOFTHSM2_CONF="$dir/softhsm2.conf"
      local pin
      pin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
      softhsm2-util --init-token --free --label cyberid-bench --pin "$pin" \
        --so-pin "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >/dev/null
      (umask 077 && printf '%s\n' "$pin" >"$dir/token.pin")
      init_args=(--pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pkcs11-token cyberid-bench
          --pkcs11-pin-file "$dir/token.pin") ;;
  esac
  "$build/cyberid" init --data "$dir/data" "${init_args[@]}" >/dev/null
  "$build/cyberid" registry import --data "$dir/data" "$run/registry.csv" >/dev/null
  "$build/cyberid" platform add --data "$dir/data" --name "Bench Shop" \
    --redirect-uri http://127.0.0.1:8080/cb --claims realname_verified >"$dir/platform.json"
  local port url
  port=$(free_port)
  url="http://127.0.0.1:$port"
  # Every login of the load generator comes from one loopback address: the
  # per-address limit on /authorize would be what is measured.
  "$build/cyberid" serve --data "$dir/data" --listen "127.0.0.1:$port" \
    --authorize-per-address 0 --log-level warn 2>"$dir/serve.log" &
  server_pid=$!
  pids+=("$server_pid")
  wait_http "$url/healthz"
  # Two enrollments at a time (each runs the face checks on the server).
  local enroll_pids=() failed=""
  for id in $(tail -n +2 "$run/registry.csv" | cut -d, -f1); do
    "$build/cyberid-app" --server "$url" --wallet "$dir/wallet-$id.json" enroll \
      --id "$id" --name 王伟 --selfie "$faces/img17.jpg" \
      --turn-left "$run/img59-mirrored.jpg" --turn-right "$faces/img59.jpg" \
      >/dev/null 2>>"$dir/enroll.log" &
    enroll_pids+=($!)
    if [ ${#enroll_pids[@]} -eq 2 ]; then
      for pid in "${enroll_pids[@]}"; do wait "$pid" || failed=1; done
      enroll_pids=()
    fi
  done
  for pid in "${enroll_pids[@]}"; do wait "$pid" || failed=1; done
  [ -z "$failed" ] ||
    { cat "$dir/enroll.log" >&2; echo "bench-oidc: an enrollment failed ($name)" >&2; exit 1; }
  node -e '
  const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(JSON.stringify({ url: process.argv[2], issuer: process.argv[2], wallets: process.argv.slice(3),
    client_id: p.client_id, client_secret: p.client_secret, redirect_uri: "http://127.0.0.1:8080/cb" }));
  ' "$dir/platform.json" "$url" "$dir"/wallet-*.json >"$dir/cyberid.json"
  is_proc "$server_pid" "cyberid serve" ||
    { echo "bench-oidc: pid $server_pid is not cyberid serve" >&2; exit 1; }
  echo "bench-oidc: $name: $(ls "$dir"/wallet-*.json | wc -l) citizens enrolled, one wallet each"
}

# ---- the peer: provider.mjs from shared, its packages from our lock file ----
cp "$root/bench/oidc/peer/package.json" "$root/bench/oidc/peer/package-lock.json" "$work/peer/"
cp "$peer_dir/provider.mjs" "$work/peer/provider.mjs"
[ -d "$work/peer/node_modules/oidc-provider" ] ||
  (cd "$work/peer" && npm ci --no-audit --no-fund --loglevel=error)
peer_port=$(free_port)
peer_url="http://127.0.0.1:$peer_port"
(cd "$work/peer" && PORT=$peer_port exec node provider.mjs >"$run/peer.log" 2>&1) &
peer_pid=$!
pids+=("$peer_pid")
wait_http "$peer_url/.well-known/openid-configuration"

# The PIDs whose CPU is charged must be the servers themselves: the subshell
# above execs node, so $! is node once it answers; refuse to measure anything
# else (a wrapper's CPU would be near zero and flatter the peer).
is_proc() { tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"; }
is_proc "$peer_pid" "node provider.mjs" ||
  { echo "bench-oidc: pid $peer_pid is not node provider.mjs" >&2; exit 1; }
clk_tck=$(getconf CLK_TCK)
printf '{"url":"%s"}\n' "$peer_url" >"$run/peer.json"

# ---- the runs: same generator, same concurrency and duration ----
generator=${GENERATOR:-c}
modes=${MODES:-shared pinned}
case $generator in
  c)
    cmake --build "$build" --target loadgen -j2 >/dev/null
    gen=("$build/bench/loadgen") ;;
  node) gen=(node "$root/bench/oidc/bench.mjs") ;;
  *) echo "bench-oidc: GENERATOR is c or node" >&2; exit 1 ;;
esac
cores=$(nproc)
for mode in $modes; do
  case $mode in
    shared) ;;
    pinned) [ "$cores" -ge 2 ] || { echo "bench-oidc: pinned runs need 2 cores" >&2; exit 1; } ;;
    *) echo "bench-oidc: MODES names shared and pinned" >&2; exit 1 ;;
  esac
done
# pin_servers CPUS PID...: the servers (and their trees) of the next runs.
pin_servers() {
  local cpus=$1 pid
  shift
  for pid in "$@"; do pin_tree "$cpus" "$pid"; done
}
bench() { # FLOW CONFIG SERVER_PID DB_PIDS MODE
  local place=()
  [ "$5" = pinned ] && place=(taskset -c 1)
  SERVER_PID=$3 DB_PIDS=$4 CLK_TCK=$clk_tck "${place[@]}" "${gen[@]}" "$1" "$concurrency" "$duration" "$2"
}
echo "bench-oidc: $(date -u +%FT%TZ), $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench-oidc: concurrency $concurrency, $duration s per run, generator $generator, modes: $modes"
results="$work/results.jsonl"
: >"$results"
record() { # BACKEND MODE JSON
  echo "$3" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);Object.assign(r,{backend:process.argv[1],mode:process.argv[2],generator:process.argv[3]});console.log(JSON.stringify(r))})' "$1" "$2" "$generator" | tee -a "$results"
}
# runs BACKEND CONFIG SERVER_PID DB_PIDS FLOW...: each flow in each mode.
runs() {
  local backend=$1 config=$2 server=$3 dbs=$4 mode flow json half
  shift 4
  for mode in $modes; do
    [ "$mode" = pinned ] && pin_servers 0 "$server" ${dbs//,/ }
    for flow in "$@"; do
      json=$(bench "$flow" "$config" "$server" "$dbs" "$mode")
      record "$backend" "$mode" "$json"
      if [ "$mode" = pinned ] && [ "$generator" = c ] &&
         { [ "$flow" = cyberid-refresh ] || [ "$flow" = peer-cc ]; }; then
        half=$(echo "$json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(Math.max(1,Math.floor(JSON.parse(s).per_sec/2))))')
        json=$(RATE=$half bench "$flow" "$config" "$server" "$dbs" "$mode")
        record "$backend" "$mode" "${json/\"flow\":\"$flow\"/\"flow\":\"$flow@half\"}"
      fi
    done
    [ "$mode" = pinned ] && pin_servers "0-$((cores - 1))" "$server" ${dbs//,/ }
  done
  return 0
}
runs peer "$run/peer.json" "$peer_pid" "" peer-login peer-cc
# One backend at a time: the others' servers stopped, so that they take no
# CPU from the run.
for backend in $backends; do
  setup_backend "$backend"
  runs "$backend" "$run/$backend/cyberid.json" "$server_pid" "$db_pids" cyberid-login cyberid-refresh
  kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true
  cleanup_pg; pg_clusters=()
done
# The peer again, after cyberid's runs: this VM's speed drifts over minutes
# (docs/bench.md, "Where it stands"), so every ratio below compares cyberid
# with the mean of the peer's runs before and after it.
[ -z "$backends" ] || runs peer-after "$run/peer.json" "$peer_pid" "" peer-login peer-cc
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const cores = process.argv[2];
const cpu = (r) => r.total_cpu_ms_per_op ?? r.server_cpu_ms_per_op;
const ms = (x) => (x === undefined || x === null ? "-" : x.toFixed(3));
const serverCpu = (r) => r.db_cpu_ms_per_op !== undefined
  ? `${ms(r.total_cpu_ms_per_op)} (${ms(r.server_cpu_ms_per_op)} + db ${ms(r.db_cpu_ms_per_op)})`
  : ms(r.server_cpu_ms_per_op);
const row = (label, r) => console.log(
  `  ${label.padEnd(42)} ${String(r.per_sec).padStart(9)} ${String(r.p50_ms).padStart(8)} ${String(r.p99_ms).padStart(8)}` +
  `   ${serverCpu(r).padEnd(30)} ${ms(r.generator_cpu_ms_per_op).padStart(8)}` + (r.errors ? `   (${r.errors} errors)` : ""));
const modes = [...new Set(rows.map((r) => r.mode))];
const find = (mode, backend, flow) => rows.find((r) => r.mode === mode && r.backend === backend && r.flow === flow);
const isPeer = (backend) => backend === "peer" || backend === "peer-after";
const backends = [...new Set(rows.filter((r) => !isPeer(r.backend)).map((r) => r.backend))];
// The peer as the ratios see it: the mean of its run before cyberid'"'"'s and
// its run after them (either alone when only one ran).
const peer = (mode, flow) => {
  const both = ["peer", "peer-after"].map((b) => find(mode, b, flow)).filter(Boolean);
  if (!both.length) return undefined;
  const mean = (f) => both.reduce((sum, r) => sum + f(r), 0) / both.length;
  return { per_sec: mean((r) => r.per_sec), server_cpu_ms_per_op: mean((r) => r.server_cpu_ms_per_op) };
};
for (const mode of modes) {
  const of = (backend, flow) => find(mode, backend, flow);
  const gen = rows.find((r) => r.mode === mode).generator;
  console.log("");
  console.log(mode === "pinned"
    ? `== pinned: each server (and its children, and the database) on core 0, the load generator (${gen}) on core 1 ==`
    : `== shared: servers and the load generator (${gen}) on all ${cores} cores ==`);
  const table = (title, unit, cyberidFlow, peerFlow, peerLabel) => {
    console.log(`${title.padEnd(44)} ${(unit + "/s").padStart(9)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}   ${("server CPU ms/" + unit).padEnd(30)} ${("generator ms/" + unit)}`);
    for (const b of backends) { const r = of(b, cyberidFlow); if (r) row(`cyberid (${b})`, r); }
    const before = of("peer", peerFlow), after = of("peer-after", peerFlow), p = peer(mode, peerFlow);
    if (before) row(after ? `${peerLabel}, before` : peerLabel, before);
    if (after) row(`${peerLabel}, after`, after);
    for (const b of backends) {
      const r = of(b, cyberidFlow);
      if (!r || !p) continue;
      console.log(`  ratios (${b}${after ? ", against the peer'"'"'s mean" : ""}): ${unit}s/s cyberid/peer ${(r.per_sec / p.per_sec).toFixed(2)}x, ` +
        `CPU per ${unit} peer/cyberid ${(p.server_cpu_ms_per_op / cpu(r)).toFixed(2)}x`);
    }
  };
  table("complete logins", "login", "cyberid-login", "peer-login", "oidc-provider");
  table("token endpoint alone", "grant", "cyberid-refresh", "peer-cc", "oidc-provider (client_credentials)");
  const halves = [...backends.map((b) => [`cyberid (${b})`, of(b, "cyberid-refresh@half")]),
                  ["oidc-provider (client_credentials)" + (of("peer-after", "peer-cc@half") ? ", before" : ""),
                   of("peer", "peer-cc@half")],
                  ["oidc-provider (client_credentials), after", of("peer-after", "peer-cc@half")]].filter(([, r]) => r);
  if (halves.length) {
    console.log(`${"token endpoint at half its peak".padEnd(44)} ${"rate/s".padStart(9)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}   (open loop: half the grants/s above, latency from when each was due)`);
    for (const [label, r] of halves)
      console.log(`  ${label.padEnd(42)} ${String(r.rate).padStart(9)} ${String(r.p50_ms).padStart(8)} ${String(r.p99_ms).padStart(8)}` +
        (r.errors ? `   (${r.errors} errors)` : ""));
  }
}
// The four targets of issue 14, each against the peer in the same run: pinned
// where the placement ran (CPU per login from the shared one otherwise).
const place = modes.includes("pinned") ? "pinned" : modes[0];
const targets = [
  ["server CPU per login, peer/cyberid >= 10x", (b) => {
    const r = find(place, b, "cyberid-login"), p = peer(place, "peer-login");
    return r && p ? [p.server_cpu_ms_per_op / cpu(r), 10] : null; }, "x"],
  ["logins/s pinned, cyberid/peer >= 5x", (b) => {
    const r = find("pinned", b, "cyberid-login"), p = peer("pinned", "peer-login");
    return r && p ? [r.per_sec / p.per_sec, 5] : null; }, "x"],
  ["grants/s per server core, cyberid/peer >= 2x", (b) => {
    const r = find("pinned", b, "cyberid-refresh"), p = peer("pinned", "peer-cc");
    return r && p ? [r.per_sec / p.per_sec, 2] : null; }, "x"],
  ["token p99 at half its peak < 5 ms", (b) => {
    const r = find("pinned", b, "cyberid-refresh@half");
    return r ? [Number(r.p99_ms), 5, true] : null; }, " ms"],
];
if (backends.length && rows.some((r) => r.backend === "peer")) {
  console.log("");
  console.log(`${("targets (issue 14, " + place + ")").padEnd(46)}` + backends.map((b) => b.padStart(17)).join(""));
  for (const [label, of, unit] of targets) {
    const cells = backends.map((b) => {
      const t = of(b);
      if (!t) return "-".padStart(17);
      const [value, bound, below] = t;
      const met = below ? value < bound : value >= bound;
      return `${value.toFixed(2)}${unit} ${met ? "met" : "not met"}`.padStart(17);
    });
    console.log(`  ${label.padEnd(44)}${cells.join("")}`);
  }
}
console.log("");
console.log("(token endpoint alone: cyberid refresh_token grants vs oidc-provider client_credentials grants)");
console.log("(server CPU: utime+stime over the timed window / operations, of the server process and its children and, " +
  "for PostgreSQL and Citus, of every database process; generator: the load generator'"'"'s own CPU per operation)");
// For the floor below: the peer'"'"'s pinned CPU per login, as the ratios saw it.
const pinnedLogin = peer("pinned", "peer-login");
require("fs").writeFileSync(process.argv[3], pinnedLogin ? String(pinnedLogin.server_cpu_ms_per_op) : "");
' "$results" "$cores" "$work/peer-login-ms"
# The floor of a login in this design on this machine (bench/oidc/floor.sh)
# beside the peer's pinned CPU per login of this run (the mean of its two
# runs). The servers above are stopped but the peer: it is stopped first,
# so that it takes no CPU.
peer_login_ms=$(cat "$work/peer-login-ms")
if [ -n "$peer_login_ms" ]; then
  kill "$peer_pid" 2>/dev/null || true; wait "$peer_pid" 2>/dev/null || true
  echo ""
  echo "== the floor of a login (bench/oidc/floor.sh) =="
  BUILD="$build" PEER_LOGIN_MS="$peer_login_ms" "$root/bench/oidc/floor.sh"
fi
