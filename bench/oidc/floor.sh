#!/usr/bin/env bash
# `make bench-floor`: the least CPU a login can cost on this machine in this
# design, from its parts measured here, to set beside issue 14's target (a
# login at most a tenth of the peer's server CPU). A login is five HTTP
# requests (the authorize page, the app's approval, the status poll, /token,
# /userinfo), one ECDSA P-256 verification (the device's JWS), one ES256 ID
# token and four round trips to the signer process (the ID token and three
# blind seals); the floor counts only those, at their cheapest:
#   - a request at the least cyberid's HTTP layer (libmicrohttpd and
#     src/http) costs: /jwks.json, whose answer is kept in memory, and
#     /healthz (one SELECT); beside them, what a fixed answer costs a server
#     that does nothing else (bench/oidc/floor_answer.c): the kernel's part;
#   - the verification: `openssl speed ecdsap256`;
#   - the ID token and the round trip: bench/signer/bench_signer, one
#     thread, signer and caller on one core, so that its rate is CPU time:
#     the round trip is HMAC through the process less HMAC in-process.
# Every server runs on core 0 and the load (`ab -k`, 32 connections) on
# core 1; CPU per request from /proc (utime+stime of the server and of its
# children). No database statement, commit, page or JSON of a login is in
# the floor. PEER_LOGIN_MS=ms (bench/oidc/run.sh passes the peer's pinned
# CPU per login of its own run, the mean of the peer's two) adds the
# comparison with the targets: a tenth of the peer's CPU a login, and the
# fifth of it that five times its logins a second on one core allows.
# REQUESTS=n per measurement (default 100000). Everything it makes goes in
# build-bench-floor/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build}
work="$root/build-bench-floor"
requests=${REQUESTS:-100000}
[ "$(nproc)" -ge 2 ] || { echo "bench-floor: needs 2 cores (server on one, load on the other)" >&2; exit 1; }
for tool in ab openssl taskset; do
  command -v "$tool" >/dev/null || { echo "bench-floor: $tool is missing (make deps)" >&2; exit 1; }
done
cmake --build "$build" --target cyberid floor_answer bench_signer -j2 >/dev/null
rm -rf "$work"
mkdir -p "$work"
bench_name=bench-floor
# pids, cleanup, free_port, wait_http, pin_tree
. "$root/bench/oidc/common.sh"

# ticks PID: CPU clock ticks of PID (its reaped children included) and of its
# live children.
ticks() {
  local total child
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat")
  for child in $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$child/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
clk_tck=$(getconf CLK_TCK)
# per_request PID URL: "requests/s ms-of-CPU-a-request", ab on core 1.
per_request() {
  local before after out
  before=$(ticks "$1")
  out=$(taskset -c 1 ab -q -k -c 32 -n "$requests" "$2" 2>&1)
  after=$(ticks "$1")
  if ! grep -q '^Failed requests: *0$' <<<"$out" || grep -q '^Non-2xx' <<<"$out"; then
    echo "bench-floor: $2 failed under load:" >&2; echo "$out" >&2; exit 1
  fi
  echo "$(awk '/^Requests per second/ {print $4}' <<<"$out") $(echo "scale=4; ($after - $before) * 1000 / $clk_tck / $requests" | bc -l)"
}

echo "bench-floor: $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

# ---- requests ----
port=$(free_port)
taskset -c 0 "$build/bench/floor_answer" "$port" &
pids+=($!)
answer_pid=$!
wait_http "http://127.0.0.1:$port/"
read -r answer_rps answer_ms < <(per_request "$answer_pid" "http://127.0.0.1:$port/jwks.json")

"$build/cyberid" init --data "$work/data" >/dev/null
port=$(free_port)
setsid "$build/cyberid" serve --data "$work/data" --listen "127.0.0.1:$port" --log-level warn \
  </dev/null >/dev/null 2>"$work/serve.log" &
pids+=($!)
serve_pid=$!
wait_http "http://127.0.0.1:$port/healthz"
pin_tree 0 "$serve_pid"
curl -fs -o /dev/null "http://127.0.0.1:$port/jwks.json" # its keys decoded once
read -r jwks_rps jwks_ms < <(per_request "$serve_pid" "http://127.0.0.1:$port/jwks.json")
read -r health_rps health_ms < <(per_request "$serve_pid" "http://127.0.0.1:$port/healthz")
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true

# ---- cryptography and the signer, on core 0 ----
# -mr: "+F4:index:bits:signs/s:verifies/s"
read -r sign_per_s verify_per_s < <(taskset -c 0 openssl speed -seconds 2 -mr ecdsap256 2>/dev/null |
  awk -F: '/^\+F4:/ {print $4, $5}')
# (it exits 1 when its own target is not met; what is read is checked below)
signer_out=$(taskset -c 0 "$build/bench/bench_signer" "$build/cyberid" 1 1 2>/dev/null) || true
# "NAME  in-process | process | ratio ..."
rate() { awk -v op="$1" -v col="$2" '$1 == op { gsub(/\|/, " "); split($0, f, " +"); print f[col] }' <<<"$signer_out"; }
id_token_in=$(rate sign_id_token 2)
hmac_in=$(rate hmac 2)
hmac_through=$(rate hmac 3)
[ -n "$sign_per_s" ] && [ -n "$id_token_in" ] && [ -n "$hmac_through" ] ||
  { echo "bench-floor: could not read openssl speed or bench_signer" >&2; echo "$signer_out" >&2; exit 1; }

node -e '
const [answerRps, answerMs, jwksRps, jwksMs, healthRps, healthMs, signPerS, verifyPerS,
       idTokenIn, hmacIn, hmacThrough, peer] = process.argv.slice(1).map(Number);
const ms = (x) => x.toFixed(4);
const verify = 1000 / verifyPerS, sign = 1000 / signPerS, idToken = 1000 / idTokenIn;
const roundTrip = 1000 / hmacThrough - 1000 / hmacIn;
const parts = (request) => 5 * request + verify + idToken + 4 * roundTrip;
console.log("least CPU a request costs the server (ab -k, 32 connections; server on core 0, ab on core 1):");
console.log(`  a fixed answer, nothing else (floor_answer)   ${String(Math.round(answerRps)).padStart(7)}/s  ${ms(answerMs)} ms`);
console.log(`  cyberid GET /jwks.json (kept in memory)        ${String(Math.round(jwksRps)).padStart(7)}/s  ${ms(jwksMs)} ms`);
console.log(`  cyberid GET /healthz (one SELECT)              ${String(Math.round(healthRps)).padStart(7)}/s  ${ms(healthMs)} ms`);
console.log("cryptography and the signer on core 0:");
console.log(`  ECDSA P-256 verification ${ms(verify)} ms, signature ${ms(sign)} ms (openssl speed)`);
console.log(`  ES256 ID token in-process ${ms(idToken)} ms; a round trip to the signer process ${ms(roundTrip)} ms` +
  " (bench_signer, one thread: HMAC through it less HMAC in-process)");
const request = Math.min(jwksMs, healthMs);
const floor = parts(request), bare = parts(answerMs);
console.log("a login, its parts only (5 requests + 1 verification + 1 ID token + 4 round trips to the signer):");
console.log(`  with cyberid'"'"'s least request   ${ms(floor)} ms`);
console.log(`  with the fixed answer'"'"'s        ${ms(bare)} ms (no HTTP parsing at all)`);
console.log("  (no database statement, commit, page or JSON of its own in either)");
if (peer > 0) {
  const budget = peer / 10;
  console.log(`the target: at most a tenth of the peer'"'"'s ${ms(peer)} ms a login, ${ms(budget)} ms: ` +
    `the floor is ${(floor / budget).toFixed(2)}x that (${(bare / budget).toFixed(2)}x with the fixed answer'"'"'s)`);
  // Pinned, each server has one core: five times the peer'"'"'s logins a second
  // is at most a fifth of its CPU a login.
  console.log(`five times the peer'"'"'s logins a second on one core: at most ${ms(peer / 5)} ms a login, ` +
    `${ms(peer / 5 - floor)} ms left above the floor for every statement, commit, page and JSON of a login`);
}
' "$answer_rps" "$answer_ms" "$jwks_rps" "$jwks_ms" "$health_rps" "$health_ms" "$sign_per_s" "$verify_per_s" \
  "$id_token_in" "$hmac_in" "$hmac_through" "${PEER_LOGIN_MS:-0}"
