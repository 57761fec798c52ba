#!/usr/bin/env bash
# Builds libmicrohttpd 1.0.1 from Debian's source (the version Debian 13
# ships; Debian 12 has 0.9.75) into /opt/cyberid, once, as a static library
# the build links (CMakeLists.txt looks there first and requires >= 1.0.1).
# Called by install-deps.sh; runs as root.
#
# Why not Debian 12's 0.9.75: its header parser answers a malformed or
# negative Content-Length with the head of its 400 written twice, and
# closes a request head that fills its pool to within a few hundred bytes
# without the 431 a larger one gets (docs/architecture.md, "HTTP
# framing"). 1.0.1's rewritten parser answers each once; it also refuses a
# Transfer-Encoding other than chunked and an HTTP/1.1 request without Host
# itself, before any callback of the service.
#
# One patch of ours (scripts/libmicrohttpd/json-errors.patch): the library's
# own refusals are JSON errors with Content-Type application/json, like
# every other answer of the service, instead of small HTML pages.
#
# The source comes from Debian's archive (the same mirror apt uses; set
# DEBIAN_MIRROR to another) and is checked against the SHA-256 of Debian
# 13's Sources index before it is unpacked.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=1.0.1
# The folder names the patch level: changing the patch makes a new folder,
# so a machine with an older build rebuilds.
patch_level=cyberid1
prefix=/opt/cyberid/libmicrohttpd-$version-$patch_level
tarball=libmicrohttpd_$version.orig.tar.gz
sha256=a89e09fc9b4de34dde19f4fcb4faaa1ce10299b9908db1132bbfa1de47882b94
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ -f "$prefix/lib/libmicrohttpd.a" ] && [ -f "$prefix/lib/pkgconfig/libmicrohttpd.pc" ]; then
  exit 0
fi
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

work=$(mktemp -d "${TMPDIR:-/tmp}/cyberid-libmicrohttpd.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "install-libmicrohttpd: building libmicrohttpd $version from Debian's source (about a minute, once)"
curl -fsS --retry 3 -o "$work/$tarball" "$mirror/pool/main/libm/libmicrohttpd/$tarball" ||
  { echo "install-libmicrohttpd: could not fetch $mirror/pool/main/libm/libmicrohttpd/$tarball" >&2; exit 1; }
echo "$sha256  $work/$tarball" | sha256sum -c --quiet - ||
  { echo "install-libmicrohttpd: $tarball does not have the SHA-256 Debian lists" >&2; exit 1; }
tar -xzf "$work/$tarball" -C "$work"
(
  cd "$work/libmicrohttpd-$version"
  patch -p1 -s < "$here/libmicrohttpd/json-errors.patch"
  # Plain HTTP only (TLS is the front's, docs/deployment.md), no tools,
  # examples or manual; static, with position-independent code for the
  # service's PIE binary.
  ./configure --prefix="$prefix" --disable-shared --enable-static --with-pic \
    --disable-https --disable-curl --disable-doc --disable-examples --disable-tools \
    >"$work/configure.log" 2>&1 || { tail -n 40 "$work/configure.log" >&2; exit 1; }
  make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -n 60 "$work/make.log" >&2; exit 1; }
  "${sudo_cmd[@]}" make install >"$work/install.log" 2>&1 || { tail -n 40 "$work/install.log" >&2; exit 1; }
)
[ -f "$prefix/lib/libmicrohttpd.a" ] || { echo "install-libmicrohttpd: libmicrohttpd.a was not installed" >&2; exit 1; }
echo "install-libmicrohttpd: installed $prefix"
