#!/usr/bin/env bash
# Installs what cyberid needs to build, run and test on Debian 12, and only
# what is missing: a machine that has everything is left untouched and no
# network is used. Runs as root (apt-get); prints what it installs.
set -euo pipefail

apt_packages=(
  build-essential cmake pkg-config git ca-certificates curl
  # libmicrohttpd is built from Debian 13's source (install-libmicrohttpd.sh).
  libjansson-dev libcjose-dev libssl-dev openssl
  libsqlite3-dev sqlite3 libpq-dev postgresql
  # PostgreSQL 15 with its server headers at the same version, and what
  # Citus (built from ../shared/vendor/citus by install-citus.sh) needs.
  postgresql-15 postgresql-server-dev-15 liblz4-dev libzstd-dev libkrb5-dev
  libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev flex bison
  libjpeg62-turbo-dev libpng-dev libwebp-dev libopenblas-dev
  libqrencode-dev libcsv-dev libseccomp-dev libcmocka-dev libcurl4-openssl-dev
  # PKCS#11: p11-kit's pkcs11.h for the signer, SoftHSM2 as the token the
  # tests create (in a temporary folder, with their own SOFTHSM2_CONF).
  libp11-kit-dev softhsm2
  clang libclang-rt-14-dev valgrind
  chromium
  # A Chinese font for chromium: the login page's screenshots in Chinese
  # (scripts/docs-screenshots.sh).
  fonts-wqy-microhei
  # The TLS front of the proxy integration test (started by the test on
  # loopback with its own config, never as a service).
  nginx
  # promtool checks and unit-tests the alert rules of docs/ops/.
  prometheus
  # The platforms of the relying-party tests: Apache httpd with
  # mod_auth_openidc (started by the test with its own config on loopback,
  # never as a service), and Python's authlib with requests.
  apache2 libapache2-mod-auth-openidc
  python3 python3-authlib python3-requests
  # `ab`, the load of `make bench-floor` (bench/oidc/floor.sh).
  apache2-utils
)
# Node runs the integration tests' clients and the reference peers only.
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

missing=()
for package in "${apt_packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done

# The server headers must match the server they build Citus for: when
# they are missing, the server and libpq are named too, so that apt brings
# all of them to the same version.
case " ${missing[*]-} " in
  *" postgresql-server-dev-15 "*) missing+=(postgresql-15 postgresql-client-15 libpq5 libpq-dev) ;;
esac

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  # Packages with a service (nginx, postgresql) start it when installed,
  # where an init system runs them: the tests start their own instances,
  # so none is started here (policy-rc.d, only for the time of the install
  # and only when the machine has none of its own).
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod 755 "$policy"
    trap '"${sudo_cmd[@]}" rm -f "$policy"' EXIT
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Citus, built once from the vendored source when no Citus is installed.
"$(dirname "$0")/install-citus.sh"

# libmicrohttpd 1.0.1, built once from Debian's source (see the script).
"$(dirname "$0")/install-libmicrohttpd.sh"

# npm packages for the integration tests (exact versions from the lock file).
if [ -f tests/integration/package-lock.json ] && [ ! -d tests/integration/node_modules ] ; then
  echo "install-deps: npm ci in tests/integration"
  (cd tests/integration && npm ci --no-audit --no-fund --loglevel=error)
fi
