#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium and its chromedriver for the dashboard's browser
# tests (tests/test_dashboard_browser.py). Idempotent: instant when both are already there.
# Needs root (CI and the project's machines run as root); elsewhere it says what to install.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && fc-list 2>/dev/null | grep -q .; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Chromium manque : sudo apt-get install chromium chromium-driver fonts-dejavu-core" >&2
  echo "Chromium is missing: install Debian's chromium, chromium-driver and fonts-dejavu-core." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -q "$@"; }
if ! apt-cache show chromium-driver >/dev/null 2>&1; then
  apt_get update
fi
packages=(chromium chromium-driver fonts-dejavu-core)
if ! apt_get install -y --no-install-recommends "${packages[@]}" >/dev/null; then
  apt_get update  # stale package lists: refresh them once, then try again
  apt_get install -y --no-install-recommends "${packages[@]}" >/dev/null
fi
