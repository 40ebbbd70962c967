#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium (the browser test and PDF export drive it via Playwright).
# Idempotent: does nothing when it is already there. Needs root (as here and in CI) or sudo.
# Why Debian's package and not `playwright install`: its browser downloads are not reachable on these machines.
#
# Example:
#   scripts/ensure_chromium.sh        # -> "chromium: already installed (/usr/bin/chromium, Chromium 1xx ...)"
set -euo pipefail

CHROMIUM=/usr/bin/chromium

describe() { "$CHROMIUM" --version 2>/dev/null || echo "version unknown"; }

if [ -x "$CHROMIUM" ]; then
    echo "chromium: already installed ($CHROMIUM, $(describe))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "chromium: missing and not running as root (no sudo) — run: apt-get install -y chromium" >&2
        exit 1
    fi
fi

echo "chromium: $CHROMIUM missing -> apt-get update"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
echo "chromium: apt-get install -y chromium"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null

if [ ! -x "$CHROMIUM" ]; then
    echo "chromium: installation finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "chromium: installed ($CHROMIUM, $(describe))"
