#!/usr/bin/env bash
# Runs Durably and each peer engine of $PEERS (Restate, DBOS on PostgreSQL, LangGraph.js on SQLite) on the same
# workload, interleaved, for $ROUNDS rounds at each C:W point of $POINTS (default C=1 W=50 and C=16 W=200), N=10, and
# prints one markdown table of medians across rounds, one group of rows per point. Durably's raw baseline (append + fdatasync of a step's bytes, same folder) is measured in each
# of its runs. A peer that fails is reported as unavailable, with the end of its log.
#
# usage: bench/compare.sh
#   ROUNDS=3 N=10 SECONDS_PER_POINT=5 PEERS=/work/shared/peers bench/compare.sh
# Needs root and the npm registry for the peers (see $PEERS/README.md); DBOS starts a PostgreSQL on 127.0.0.1:5433.
# The peers folder is read-only: it is copied once to $PEERS_COPY and that copy (with its npm packages) is reused.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
N=${N:-10}
SECONDS_PER_POINT=${SECONDS_PER_POINT:-5}
PEERS=$(realpath -m "${PEERS:-$repo/../shared/peers}")
PEERS_COPY=${PEERS_COPY:-${TMPDIR:-/tmp}/durably-compare-peers}
POINTS=${POINTS:-"1:50 16:200"}
command_line="ROUNDS=$ROUNDS N=$N SECONDS_PER_POINT=$SECONDS_PER_POINT POINTS=\"$POINTS\" PEERS=$PEERS bench/compare.sh"

out=$(mktemp -d "${TMPDIR:-/tmp}/durably-compare.XXXXXX")
results="$out/results.jsonl"
: > "$results"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)
date_start=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
echo "logs and raw results: $out" >&2

echo "building the Durably bench (Release)..." >&2
if ! dotnet build -c Release "$repo/bench/Durably.Bench.Workflows" -o "$out/bin" > "$out/build.log" 2>&1; then
  tail -30 "$out/build.log" >&2
  echo "build failed; see $out/build.log" >&2
  exit 1
fi

peers=(restate dbos langgraph-fsync langgraph)
if [ ! -d "$PEERS_COPY" ]; then
  if [ -d "$PEERS" ]; then
    mkdir -p "$(dirname "$PEERS_COPY")"
    cp -r "$PEERS" "$PEERS_COPY.tmp" && chmod -R u+w "$PEERS_COPY.tmp" && mv "$PEERS_COPY.tmp" "$PEERS_COPY"
  else
    echo "no peers folder at $PEERS: every peer will be reported as unavailable" >&2
  fi
fi

# Appends one JSON line to $results: the system's own line with variant, C, W and round added, or a failure record.
record() { # variant round C W log-file line
  python3 - "$@" >> "$results" <<'PY'
import json, sys
variant, rnd, c, w, log, line = sys.argv[1:7]
try:
    d = json.loads(line); d["ok"] = True
except Exception:
    try:
        tail = open(log, errors="replace").read().strip().splitlines()[-3:]
    except OSError:
        tail = []
    d = {"ok": False, "error": " / ".join(tail)[-300:] or "no output"}
d.update(variant=variant, round=int(rnd), C=int(c), W=int(w))
print(json.dumps(d))
PY
}

run_one() { # variant round C W
  local variant=$1 rnd=$2 c=$3 w=$4 log="$out/$1-C$3-r$2.log" line
  echo "round $rnd C=$c W=$w: $variant" >&2
  if [ "$variant" != durably ] && [ ! -d "$PEERS_COPY" ]; then
    echo "no peers folder at $PEERS (set PEERS)" > "$log"
    record "$variant" "$rnd" "$c" "$w" "$log" ""
    return
  fi
  case $variant in
    durably)
      dotnet "$out/bin/Durably.Bench.Workflows.dll" --only workload -W "$w" -N "$N" -C "$c" \
        --rounds 1 --seconds "$SECONDS_PER_POINT" --dir "${TMPDIR:-/tmp}" > "$log" 2>&1
      line=$(grep '"kind":"workflows"' "$log" | tail -1) ;;
    langgraph-fsync)
      (cd "$PEERS_COPY" && W=$w N=$N C=$c DURABILITY=sync SQLITE_SYNCHRONOUS=FULL langgraph/run.sh) > "$log" 2>&1
      line=$(grep '^{' "$log" | tail -1) ;;
    *)
      (cd "$PEERS_COPY" && W=$w N=$N C=$c "$variant/run.sh") > "$log" 2>&1
      line=$(grep '^{' "$log" | tail -1) ;;
  esac
  record "$variant" "$rnd" "$c" "$w" "$log" "$line"
}

systems=(durably "${peers[@]}")
for rnd in $(seq 1 "$ROUNDS"); do
  for point in $POINTS; do
    c=${point%%:*} w=${point##*:}
    # Rotate the order every round so that no system always runs first, or right after a particular one.
    k=$(( (rnd - 1) % ${#systems[@]} ))
    for s in "${systems[@]:$k}" "${systems[@]:0:$k}"; do
      run_one "$s" "$rnd" "$c" "$w"
    done
  done
done

load_end=$(loadavg)
echo
echo "Date: $date_start. Machine: $(nproc) CPUs, $(uname -sr), $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-}"), $(dotnet --version 2>/dev/null | sed 's/^/.NET SDK /')."
echo "Load average (1, 5, 15 min) at start: $load_start; at end: $load_end."
echo "Command: \`$command_line\`"
echo
python3 - "$results" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = {
    "durably": "Durably (SQLite, synchronous=FULL)",
    "raw": "raw append + fdatasync, same bytes, same folder",
    "restate": "Restate 1.7.12 (defaults)",
    "dbos": "DBOS Transact on PostgreSQL 15 (defaults)",
    "langgraph-fsync": "LangGraph.js + SQLite (durability=sync, synchronous=FULL)",
    "langgraph": "LangGraph.js + SQLite (defaults: no fsync per step) *",
}
durable_peers = ["restate", "dbos", "langgraph-fsync"]
def med(xs): return st.median(xs) if xs else None
def spread(xs, fmt):
    return f"{fmt(med(xs))} ({fmt(min(xs))}-{fmt(max(xs))})" if xs else "-"
n0 = lambda x: f"{x:,.0f}"
ms = lambda x: f"{x:.2f}"
print("| C | W x N | system | rounds | steps/s, median (min-max) | p50 step ms, median (min-max) | p99 step ms | Durably / this |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for c, w in sorted({(r["C"], r["W"]) for r in rows}):
    at = [r for r in rows if r["C"] == c and r["W"] == w]
    n = next((r.get("steps_per_workflow") for r in at if r.get("ok")), "?")
    ok = lambda v: [r for r in at if r["variant"] == v and r["ok"]]
    sps = {v: [r["steps_per_s"] for r in ok(v)] for v in names}
    d = ok("durably")
    best = max((v for v in durable_peers if sps[v]), key=lambda v: med(sps[v]), default=None)
    for v in ["durably", "raw"] + [p for p in names if p not in ("durably", "raw")]:
        variants = [r for r in at if r["variant"] == v]
        if v == "raw":
            if not d: continue
            ops = [r["raw_ops_per_s"] for r in d]; p50 = [r["raw_p50_ms"] for r in d]; p99 = [r["raw_p99_ms"] for r in d]
            ratio = [r["ratio_p50_to_raw_p50"] for r in d]
            note = f"p50 {med(ratio):.2f}x raw p50" if c == 1 else ""
            print(f"| {c} | | {names[v]} ({d[0]['raw_bytes']} B) | {len(d)} | {spread(ops, n0)} syncs/s | {spread(p50, ms)} | {ms(med(p99))} | {note} |")
            continue
        if not variants: continue
        good = ok(v)
        if not good:
            err = next((r["error"] for r in variants), "").replace("|", "/")
            print(f"| {c} | {w} x {n} | {names[v]} | 0 of {len(variants)} | unavailable: {err} | | | |")
            continue
        p50 = [r["p50_step_ms"] for r in good]; p99 = [r["p99_step_ms"] for r in good]
        if v == "durably":
            note = f"{med(sps[v]) / med(sps[best]):.1f}x the best peer ({best})" if best else "no peer measured"
        else:
            note = f"{med(sps['durably']) / med(sps[v]):.1f}x" if sps["durably"] else ""
        failed = len(variants) - len(good)
        print(f"| {c} | {w} x {n} | {names[v]} | {len(good)}{f' ({failed} failed)' if failed else ''} | {spread(sps[v], n0)} | {spread(p50, ms)} | {ms(med(p99))} | {note} |")
print()
print("Medians across rounds; each round runs every system once, interleaved. Durably's steps/s, p50 and p99 are those of one")
print("measured window of at least SECONDS_PER_POINT seconds after a warm-up; each peer measures one batch of W workflows after")
print("a warm-up of 20. The best peer is the fastest one that makes every step durable with an fsync (Restate, DBOS,")
print("LangGraph with durability=sync and synchronous=FULL). * LangGraph's defaults do not fsync a step before going on; shown")
print("for reference, not counted as the best peer.")
PY
