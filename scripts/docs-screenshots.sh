#!/usr/bin/env bash
# Regenerates the login page's screenshots and the app's questions shown
# in the docs (docs/img/login-en.png, login-zh.png, app-login-en.txt,
# app-login-zh.txt): runs the integration test that proves the pages'
# language (tests/integration/login-i18n.test.mjs) with
# CYBERID_DOCS_SCREENSHOTS pointing at docs/img. Needs a build in
# BUILD_DIR (default build), Debian's chromium and a Chinese font
# (scripts/install-deps.sh installs both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
mkdir -p "$root/docs/img"
cd "$build"
CYBERID_DOCS_SCREENSHOTS="$root/docs/img" ctest -R '^integration_login_i18n$' --output-on-failure
ls -l "$root/docs/img"/login-*.png "$root/docs/img"/app-login-*.txt
