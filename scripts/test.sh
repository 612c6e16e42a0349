#!/usr/bin/env bash
# Runs every test from a fresh clone: restore, build, test. Exits non-zero on any failure.
#
# It starts what the tests need: a throwaway PostgreSQL cluster on 127.0.0.1 (scripts/with-postgres.sh,
# which installs Debian's postgresql package first when it is missing and the user is root), the
# system Chromium for the dashboard's browser tests (scripts/ensure-chromium.sh, likewise) and the C
# toolchain the native AOT test publishes with (scripts/ensure-native-toolchain.sh, likewise).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

./scripts/ensure-chromium.sh
./scripts/ensure-native-toolchain.sh

dotnet build Durably.slnx -c Release

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
./scripts/with-postgres.sh dotnet test Durably.slnx -c Release --no-build 2>&1 | tee "$log" || status=$?

# One closing line over every test assembly.
passed=$(grep -oE 'Passed:[[:space:]]+[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed:[[:space:]]+[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "${passed} passed, ${failed} failed"
if [[ $status -eq 0 && $failed -ne 0 ]]; then
    status=1
fi
exit $status
