#!/usr/bin/env bash
# Makes sure the system Chromium that the dashboard's browser tests drive is installed (Debian's package, no
# browser download). Installs it with apt-get when it is missing and this runs as root; otherwise says what to do.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium package for the browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  command -v chromium >/dev/null 2>&1 && exit 0
fi

echo "ensure-chromium: chromium is missing. Install it (sudo apt-get install chromium) to run the dashboard's browser tests." >&2
exit 1
