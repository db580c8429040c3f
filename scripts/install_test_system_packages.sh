#!/bin/sh
# Debian packages the test suite drives for real: Chromium (the report opens in a headless browser) and
# PostgreSQL (two sweep workers share one study). Installed only when missing; when they cannot be
# installed (no root, no apt), the tests that need them skip with a message naming the package.
set -u
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    need="$need postgresql"
fi
[ -z "$need" ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: cannot install$need (needs root and apt-get); the tests that use them will be skipped" >&2
    exit 0
fi
echo "installing Debian packages:$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 \
    || echo "note: apt-get could not install$need; the tests that use them will be skipped" >&2
exit 0
