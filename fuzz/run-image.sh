#!/usr/bin/env bash
# `make fuzz-image`: builds fuzz/fuzz_image_decode.c with clang and
# -fsanitize=fuzzer,address,undefined and runs it for a bounded time
# (seconds, default 60) on one core. Seeds: small JPEG/PNG/WebP files made by
# fuzz/make_seeds.c plus two small shared photos. Everything (binary, corpus,
# crash files, log) goes in build-fuzz/, never in the repository; the corpus
# is kept between runs.
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CYBERID_SHARED_DIR:-$root/../shared}
out="$root/build-fuzz"
mkdir -p "$out/corpus" "$out/seeds" "$out/crashes"
command -v clang >/dev/null || { echo "fuzz-image needs clang (make deps)" >&2; exit 1; }
libs=$(pkg-config --cflags --libs libjpeg libpng libwebp)
srcs=(face_image.c face_jpeg.c face_tensor.c)
flags=(-std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -I"$root/src")
# shellcheck disable=SC2086
clang "${flags[@]}" "$root/fuzz/fuzz_image_decode.c" "${srcs[@]/#/$root/src/face/}" \
  $libs -lm -o "$out/fuzz_image_decode"
# shellcheck disable=SC2086
clang -std=c17 -O1 -Wall -Wextra -Werror "$root/fuzz/make_seeds.c" $libs -o "$out/make_seeds"
"$out/make_seeds" "$out/seeds"
for f in "$shared"/faces/deepface/img12.jpg "$shared"/faces/faceapi-crops/amy/amy1.png; do
  [ -f "$f" ] && cp -n "$f" "$out/seeds/" || true
done
cd "$out"
echo "fuzz-image: ${seconds}s, log in $out/fuzz.log"
set +e
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ./fuzz_image_decode -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$out/crashes/" corpus seeds >fuzz.log 2>&1
status=$?
set -e
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' fuzz.log | tail -n 2 || true
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' fuzz.log || true
grep -E 'ERROR|SUMMARY|Test unit written' fuzz.log || true
echo "fuzz-image: exit $status; corpus $(find corpus -type f | wc -l) files"
exit $status
