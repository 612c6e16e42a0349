#!/usr/bin/env bash
# At a release: moves every package's PublicAPI.Unshipped.txt entries into its PublicAPI.Shipped.txt (sorted) and
# leaves Unshipped empty, so that the next changes to the public API show up on their own.
set -euo pipefail
cd "$(dirname "$0")/.."
for unshipped in src/*/PublicAPI.Unshipped.txt; do
    shipped="$(dirname "$unshipped")/PublicAPI.Shipped.txt"
    { echo '#nullable enable'; cat "$shipped" "$unshipped" | grep -v -e '^#nullable enable$' -e '^$' | LC_ALL=C sort -u || true; } > "$shipped.tmp"
    mv "$shipped.tmp" "$shipped"
    printf '#nullable enable\n' > "$unshipped"
done
