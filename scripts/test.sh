#!/usr/bin/env bash
# Runs every test from a fresh clone: restore, build, test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

# The dashboard's browser tests drive the system Chromium (Debian's package).
./scripts/ensure-chromium.sh

dotnet build Durably.slnx -c Release
dotnet test Durably.slnx -c Release --no-build --logger "console;verbosity=normal"
