# Sourced by bench/oidc/run.sh and bench/oidc/floor.sh: the helpers both
# use. The sourcing script sets `bench_name` (for its messages) first.

# The processes the script started, killed at its exit.
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# A free loopback port (the servers log quietly, so it is chosen here).
free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
# wait_http URL: until URL answers 2xx, at most 30 s.
wait_http() {
  for _ in $(seq 1 300); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "$bench_name: $1 does not answer" >&2; return 1
}
# pin_tree CPUS PID: every thread of PID and of its descendants on CPUS
# (a process gone meanwhile is skipped; PID itself must be there).
pin_tree() {
  local child
  taskset -a -p -c "$1" "$2" >/dev/null
  for child in $(pgrep -P "$2" || true); do pin_tree "$1" "$child" 2>/dev/null || true; done
}
