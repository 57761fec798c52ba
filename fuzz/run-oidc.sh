#!/usr/bin/env bash
# `make fuzz-oidc`: builds the two login-parser fuzz targets with clang and
# -fsanitize=fuzzer,address,undefined and runs them one after the other on
# one core, splitting the time (seconds, default 60) evenly:
#   fuzz_oidc_parsers  the provider's parsers and builders of network text
#                      (form bodies, Basic credentials, client-assertion
#                      claims, user codes, PKCE, redirects, HTML and
#                      percent escaping), src/oidc/
#   fuzz_login_code    the app's CODE_OR_URL reader, src/app/login_code.c
# A second argument runs one target only, for the whole time. Seeds are the
# text files in fuzz/seeds/oidc/<target>/. Everything (binaries in bin/, and
# per target corpus/, crashes/ and fuzz.log) goes in build-fuzz-oidc/, never
# in the repository; the corpora are kept between runs.
set -euo pipefail
seconds=${1:-60}
only=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build-fuzz-oidc"
command -v clang >/dev/null || { echo "fuzz-oidc needs clang (make deps)" >&2; exit 1; }
# shellcheck disable=SC2054 # the commas are in one clang option
flags=(-std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow
       -Wstrict-prototypes -Wvla -I"$root/src")
util=("$root"/src/util/strings.c "$root"/src/util/encoding.c)
mkdir -p "$out/bin"

# shellcheck disable=SC2046
build_parsers() {
  clang "${flags[@]}" $(pkg-config --cflags openssl jansson cjose) \
    "$root/fuzz/fuzz_oidc_parsers.c" "$root/fuzz/oidc_stubs.c" \
    "$root"/src/oidc/{form,client_auth,user_code,pkce,redirect,text_buffer}.c "${util[@]}" \
    $(pkg-config --libs openssl jansson cjose) -o "$out/bin/fuzz_oidc_parsers"
}

# The app library but main.c (login_code.c needs app_common.c, which needs
# the rest), util, and the service's user_code.c to compare with.
# shellcheck disable=SC2046
build_login_code() {
  local app=()
  for f in "$root"/src/app/*.c; do [ "$(basename "$f")" = main.c ] || app+=("$f"); done
  clang "${flags[@]}" $(pkg-config --cflags openssl jansson cjose libcurl) \
    "$root/fuzz/fuzz_login_code.c" "${app[@]}" "$root"/src/util/*.c \
    "$root/src/oidc/user_code.c" \
    $(pkg-config --libs openssl jansson cjose libcurl) -o "$out/bin/fuzz_login_code"
}

# run TARGET SECONDS: fuzzes one target; its exit status.
run() {
  local target=$1 time=$2 dir="$out/$1" status
  mkdir -p "$dir/corpus" "$dir/crashes" || return 1
  echo "fuzz-oidc: $target ${time}s, log in $dir/fuzz.log"
  local dict=()
  [ -f "$root/fuzz/$target.dict" ] && dict=(-dict="$root/fuzz/$target.dict")
  set +e
  (cd "$dir" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$out/bin/$target" -max_total_time="$time" -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 "${dict[@]}" -artifact_prefix="$dir/crashes/" \
    corpus "$root/fuzz/seeds/oidc/$target" >fuzz.log 2>&1)
  status=$?
  set -e
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$dir/fuzz.log" | tail -n 2 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
    "$dir/fuzz.log" || true
  grep -E 'ERROR|SUMMARY|property broken|Test unit written' "$dir/fuzz.log" || true
  echo "fuzz-oidc: $target exit $status; corpus $(find "$dir/corpus" -type f | wc -l) files"
  return $status
}

build_parsers
build_login_code
status=0
case "$only" in
  "") half=$(( (seconds + 1) / 2 ))
      run fuzz_oidc_parsers "$half" || status=$?
      run fuzz_login_code "$half" || status=$? ;;
  fuzz_oidc_parsers|fuzz_login_code) run "$only" "$seconds" || status=$? ;;
  *) echo "fuzz-oidc: unknown target $only" >&2; exit 2 ;;
esac
exit $status
