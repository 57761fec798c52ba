#!/usr/bin/env bash
# Builds and installs Citus (distributed PostgreSQL) from the source in
# ../shared/vendor/citus/ into Debian's PostgreSQL 15, once: a machine where
# citus.so is already installed (a Debian or Citus package, or an earlier
# run) is left untouched. Called by install-deps.sh; runs as root.
#
# Debian 12 ships no Citus package. The vendored tarball is Citus 13.2.2;
# its compatibility header defines a static have_createdb_privilege(),
# which PostgreSQL 15.20 and later export themselves, so the vendored
# one-line patch is applied only when the server headers declare it.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
vendor=${CYBERID_SHARED_DIR:-$here/../shared}/vendor/citus
pg_config=/usr/lib/postgresql/15/bin/pg_config

[ -x "$pg_config" ] || { echo "install-citus: $pg_config missing (postgresql-server-dev-15)" >&2; exit 1; }
pkglibdir=$("$pg_config" --pkglibdir)
if [ -f "$pkglibdir/citus.so" ]; then
  exit 0
fi
tarball=$(ls "$vendor"/citus-*.tar.gz 2>/dev/null | head -n 1 || true)
[ -n "$tarball" ] || { echo "install-citus: no Citus source in $vendor" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cyberid-citus.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "install-citus: building $(basename "$tarball") for PostgreSQL $("$pg_config" --version | awk '{print $2}') (a few minutes, once)"
tar -xzf "$tarball" -C "$work"
source_dir=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
if grep -q 'have_createdb_privilege' "$("$pg_config" --includedir-server)/commands/dbcommands.h"; then
  for patch in "$vendor"/*.patch; do
    [ -f "$patch" ] && (cd "$source_dir" && patch -p1 -s < "$patch")
  done
fi
(
  cd "$source_dir"
  ./configure --without-libcurl PG_CONFIG="$pg_config" >"$work/configure.log" 2>&1 ||
    { tail -n 40 "$work/configure.log" >&2; exit 1; }
  make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -n 60 "$work/make.log" >&2; exit 1; }
  make install >"$work/install.log" 2>&1 || { tail -n 40 "$work/install.log" >&2; exit 1; }
)
[ -f "$pkglibdir/citus.so" ] || { echo "install-citus: citus.so was not installed" >&2; exit 1; }
echo "install-citus: installed $pkglibdir/citus.so"
