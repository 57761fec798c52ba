#!/usr/bin/env bash
# Fetches the face model files into models/ from the npm package
# @vladmandic/face-api at the pinned version (npm pack: the tarball is only
# downloaded and unpacked, no package code runs), then checks every file
# against the SHA-256 values committed in models.sha256. Idempotent: when all
# files are present with the right sums it does nothing and uses no network.
# Model files are never committed (models/ is git-ignored).
set -euo pipefail

package="@vladmandic/face-api"
version="1.7.15"
root=$(cd "$(dirname "$0")/.." && pwd)
sums="$root/models.sha256"
dest="$root/models"

die() { echo "fetch-models: error: $*" >&2; exit 1; }

[ -f "$sums" ] || die "$sums is missing"
command -v sha256sum >/dev/null || die "sha256sum not found (coreutils)"

check_all() {
  (cd "$dest" 2>/dev/null && sha256sum --quiet --strict -c "$sums" >/dev/null 2>&1)
}

if [ -d "$dest" ] && check_all; then
  exit 0
fi

command -v npm >/dev/null || die "npm not found: it is needed to fetch $package@$version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "fetch-models: fetching $package@$version with npm pack"
(cd "$work" && npm pack --silent "$package@$version" >pack.out 2>pack.err) ||
  die "npm pack $package@$version failed: $(tail -n 3 "$work/pack.err")"
tarball="$work/$(tail -n 1 "$work/pack.out")"
[ -f "$tarball" ] || die "npm pack produced no tarball"
tar -xzf "$tarball" -C "$work" package/model ||
  die "could not unpack model/ from $tarball"

mkdir -p "$dest"
while read -r _sum name; do
  case "$name" in
    */*|.*|"") die "bad file name '$name' in $sums" ;;
  esac
  [ -f "$work/package/model/$name" ] || die "$name is not in $package@$version"
  cp "$work/package/model/$name" "$dest/$name.tmp"
  mv "$dest/$name.tmp" "$dest/$name"
done <"$sums"

if ! (cd "$dest" && sha256sum --quiet --strict -c "$sums"); then
  die "SHA-256 mismatch in $dest (see above): refusing these model files"
fi
echo "fetch-models: $(wc -l <"$sums") model files verified in $dest"
