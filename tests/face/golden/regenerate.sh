#!/usr/bin/env bash
# Regenerates the golden cases from the face-api reference (golden.js on
# Node, wasm backend). Needs `npm ci` in bench/face/reference and a build of
# face_golden_tool (any build dir: BUILD=build by default).
# usage: tests/face/golden/regenerate.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$root/build}
shared=${CYBERID_SHARED_DIR:-$root/../shared}
tool=$(find "$build" -name face_golden_tool -type f | head -n 1)
[ -x "$tool" ] || { echo "build face_golden_tool first" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for photo in img12 img51 img25 img62 img5; do
  mkdir -p "$work/$photo" "$root/tests/face/golden/$photo"
  (cd "$root/bench/face/reference" &&
    BACKEND=wasm node golden.js "$shared/faces/deepface/$photo.jpg" "$work/$photo" >/dev/null)
  "$tool" "$shared/faces/deepface/$photo.jpg" "$work/$photo" \
    "$root/tests/face/golden/$photo" "deepface/$photo.jpg"
  echo "golden case $photo written"
done
