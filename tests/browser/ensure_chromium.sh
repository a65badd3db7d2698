#!/usr/bin/env bash
# Page tests drive the Chromium of the Debian packages (never a downloaded browser build).
# Installs it, with its matching driver, when it is missing and this machine can (root with apt-get).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver from the Debian packages for the page tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
  exit 0
fi
echo "chromium and chromedriver are not on PATH and cannot be installed here (needs root and apt-get):" >&2
echo "install your system's chromium and its chromedriver; the page tests fail without them." >&2
