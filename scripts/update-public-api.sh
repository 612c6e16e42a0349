#!/usr/bin/env bash
# Adds every public API that is in no PublicAPI.*.txt file to the PublicAPI.Unshipped.txt of its package (every project
# under src/), and removes entries for API that is gone. Run it after adding public API, and after merging branches
# that did; then review the diff of the PublicAPI files: it is the change of the packages' public surface.
#
#   scripts/update-public-api.sh            # every package under src/
#   scripts/update-public-api.sh src/Durably.Hosting/Durably.Hosting.csproj ...
#
# A new project under src/ gets empty PublicAPI.Shipped.txt and PublicAPI.Unshipped.txt files first (the analyzer only
# reads files that exist). At a release, move the Unshipped lines into Shipped (scripts/ship-public-api.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

if [[ $# -gt 0 ]]; then
    projects=("$@")
else
    mapfile -t projects < <(ls src/*/*.csproj)
fi

for project in "${projects[@]}"; do
    dir="$(dirname "$project")"
    for file in PublicAPI.Shipped.txt PublicAPI.Unshipped.txt; do
        if [[ ! -f "$dir/$file" ]]; then
            printf '#nullable enable\n' > "$dir/$file"
            echo "created $dir/$file"
        fi
    done
done

for project in "${projects[@]}"; do
    echo "updating the public API files of $project"
    # RS0016: public API missing from the files (added to Unshipped); RS0017: listed API that no longer exists
    # (removed, or marked *REMOVED* when it had shipped); RS0037: the '#nullable enable' header.
    # The code fix needs the analyzers to report at least at the chosen severity, hence 'info'.
    # (It restores first: without the analyzer package in the assets, it would report nothing and change nothing.)
    dotnet format analyzers "$project" --diagnostics RS0016 RS0017 RS0037 --severity info
    # Stable order, so that parallel branches merge cleanly: the header first, then the entries sorted.
    for file in "$(dirname "$project")/PublicAPI.Unshipped.txt"; do
        { echo '#nullable enable'; grep -v -e '^#nullable enable$' -e '^$' "$file" | LC_ALL=C sort -u || true; } > "$file.tmp"
        mv "$file.tmp" "$file"
    done
done
