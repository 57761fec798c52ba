#!/usr/bin/env bash
# Starts and stops throwaway PostgreSQL servers for tests and benchmarks:
# initdb in a folder of their own, unix sockets only (no TCP port), never a
# system service. initdb and postgres refuse to run as root, so as root
# the servers run as the `postgres` user that Debian's package creates.
#
#   pg-cluster.sh start DIR [--citus WORKERS] [--fsync] [--async-commit]
#                           [--naptime SECONDS]
#       creates DIR (must not exist), starts a server (with Citus: a
#       coordinator and WORKERS workers, the extension created and the
#       workers added) and prints the coordinator's libpq URI on stdout,
#       for user postgres and database postgres. --naptime sets
#       autovacuum_naptime (default 60 s): a benchmark on a fresh database
#       gives 1, so that statistics follow its tables as they grow.
#   pg-cluster.sh stop DIR       stops every server of DIR (fast shutdown)
#   pg-cluster.sh kill DIR       stops them at once (immediate shutdown)
#   pg-cluster.sh restart DIR    stops and starts the servers again
#   pg-cluster.sh remove DIR     stops them and removes DIR
#   pg-cluster.sh fixture-start STATE [options of start]
#   pg-cluster.sh fixture-stop STATE
#       for ctest fixtures: start in a new folder under /tmp (unix socket
#       paths are short) and write that folder's path in the file STATE;
#       stop and remove the folder STATE names, and STATE.
#
# Each node N of DIR has its data in DIR/nodeN, its socket in DIR (port
# 5432+N names it), its log in DIR/nodeN.log. Without --fsync the servers
# run with fsync=off: faster, and still durable against a process crash
# (the OS keeps the pages), which is what the tests stop and kill. The
# benchmarks pass --fsync --async-commit: fsync on, synchronous_commit off,
# the durability of SQLite's WAL with synchronous=NORMAL (a crash of the
# machine may lose the last commits, never corrupt), 512 MB of buffers.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BASE_PORT=5432

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

node_count() {
  local dir=$1 n=0
  while [ -d "$dir/node$n" ]; do n=$((n + 1)); done
  echo "$n"
}

start_node() {
  local dir=$1 n=$2
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/node$n" -l "$dir/node$n.log" -w -t 60 \
    -o "-p $((BASE_PORT + n))" start >/dev/null ||
    { cat "$dir/node$n.log" >&2; return 1; }
}

psql_node() {
  local dir=$1 n=$2
  shift 2
  as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p $((BASE_PORT + n)) \
    -U postgres -d postgres "$@"
}

start() {
  local dir=$1
  shift
  local workers=-1 fsync=off commit=on buffers=128MB naptime=60
  while [ $# -gt 0 ]; do
    case $1 in
      --citus) workers=$2; shift 2 ;;
      --fsync) fsync=on; shift ;;
      --async-commit) commit=off; buffers=512MB; shift ;;
      --naptime) naptime=$2; shift 2 ;;
      *) echo "pg-cluster: unknown option $1" >&2; exit 2 ;;
    esac
  done
  [ ! -e "$dir" ] || { echo "pg-cluster: $dir exists" >&2; exit 1; }
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  chmod 0700 "$dir"
  local nodes=1
  [ "$workers" -lt 0 ] || nodes=$((workers + 1))
  local n
  for ((n = 0; n < nodes; n++)); do
    as_postgres "$PG_BIN/initdb" -D "$dir/node$n" -U postgres -A trust -E UTF8 \
      --locale=C.UTF-8 --no-sync >"$dir/initdb$n.log" 2>&1 ||
      { cat "$dir/initdb$n.log" >&2; exit 1; }
    # Every role connects without a password (trust), but one, on the
    # server clients connect to (the coordinator: its connections to the
    # workers stay trusted): the tests prove with it that a password in a
    # password file reaches the server.
    [ "$n" -ne 0 ] ||
      as_postgres sed -i '1i local all cyberid_password_test scram-sha-256' "$dir/node$n/pg_hba.conf"
    {
      echo "listen_addresses = ''"
      echo "unix_socket_directories = '$dir'"
      echo "fsync = $fsync"
      echo "synchronous_commit = $commit"
      echo "max_connections = 200"
      echo "shared_buffers = $buffers"
      echo "log_min_messages = warning"
      echo "autovacuum_naptime = $naptime"
      if [ "$workers" -ge 0 ]; then
        echo "shared_preload_libraries = 'citus'"
        echo "max_prepared_transactions = 200"
        echo "citus.shard_count = 8"
      fi
    } >>"$dir/node$n/postgresql.conf"
  done
  for ((n = 0; n < nodes; n++)); do start_node "$dir" "$n"; done
  if [ "$workers" -ge 0 ]; then
    for ((n = 0; n < nodes; n++)); do
      psql_node "$dir" "$n" -c 'CREATE EXTENSION citus' >/dev/null
    done
    psql_node "$dir" 0 -c "SELECT citus_set_coordinator_host('$dir', $BASE_PORT)" >/dev/null
    for ((n = 1; n < nodes; n++)); do
      psql_node "$dir" 0 -c "SELECT citus_add_node('$dir', $((BASE_PORT + n)))" >/dev/null
    done
  fi
  echo "postgresql://postgres@/postgres?host=$dir&port=$BASE_PORT"
}

stop() {
  local dir=$1 mode=$2 n nodes
  nodes=$(node_count "$dir")
  for ((n = nodes - 1; n >= 0; n--)); do
    if [ -f "$dir/node$n/postmaster.pid" ]; then
      as_postgres "$PG_BIN/pg_ctl" -D "$dir/node$n" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
    fi
  done
}

command=${1:-}
[ $# -ge 2 ] || { sed -n '5,21p' "$0" >&2; exit 2; }
dir=$2
shift 2
case $command in
  start) start "$dir" "$@" ;;
  stop) stop "$dir" fast ;;
  kill) stop "$dir" immediate ;;
  restart)
    stop "$dir" fast
    for ((n = 0; n < $(node_count "$dir"); n++)); do start_node "$dir" "$n"; done ;;
  remove) stop "$dir" immediate; rm -rf "$dir" ;;
  fixture-start)
    state=$dir
    rm -f "$state"
    folder=$(mktemp -d -u "${TMPDIR:-/tmp}/cyberid-pg.XXXXXX")
    start "$folder" "$@" >/dev/null
    echo "$folder" >"$state" ;;
  fixture-stop)
    state=$dir
    if [ -f "$state" ]; then
      folder=$(cat "$state")
      stop "$folder" immediate
      rm -rf "$folder" "$state"
    fi ;;
  *) sed -n '5,21p' "$0" >&2; exit 2 ;;
esac
