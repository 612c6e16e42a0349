#!/usr/bin/env bash
# Runs one test project N times in a row on an already built tree and reports how many runs failed, to catch
# flaky tests before CI does:
#
#   dotnet build Durably.slnx -c Release
#   scripts/repeat-tests.sh 20 tests/Durably.Sqlite.Tests
#   scripts/with-postgres.sh scripts/repeat-tests.sh 20 tests/Durably.Postgres.Tests
#
# The log of every failed run is kept in a temporary folder whose path is printed. Exits non-zero when any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 2 ]]; then
    echo "usage: $0 COUNT PROJECT [dotnet test options...]" >&2
    exit 2
fi

count=$1
project=$2
shift 2
logs="$(mktemp -d)"
failed=0
for ((i = 1; i <= count; i++)); do
    if dotnet test "$project" -c Release --no-build "$@" >"$logs/run-$i.log" 2>&1; then
        summary=$(grep -E '^(Passed|Failed)!' "$logs/run-$i.log" | tail -1)
        echo "run $i/$count: ok ${summary}"
        rm -f "$logs/run-$i.log"
    else
        failed=$((failed + 1))
        echo "run $i/$count: FAILED (log: $logs/run-$i.log)"
        grep -E '^\s+Failed [A-Za-z]' "$logs/run-$i.log" | sed 's/^/    /'
    fi
done

echo "$project: $((count - failed)) of $count runs passed"
[[ $failed -eq 0 ]]
