#!/usr/bin/env bash
# Runs every test from a fresh clone: restore, build, test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

dotnet build Durably.slnx -c Release
dotnet test Durably.slnx -c Release --no-build --logger "console;verbosity=normal"
