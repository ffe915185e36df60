#!/usr/bin/env bash
# Hostile input: godot-project/faults/fuzz_methods.gd (every script-callable method of the
# addon's three classes and their engine parents, called with seeded hostile arguments on
# objects in every state) once per seed, then godot-project/faults/mutated_descriptions.gd
# (seeded mutations of a real offer, answer and candidates fed to fresh connections, then a
# fresh pair must still connect), each in its own engine process on 127.0.0.1.
#
#   tools/faults.d/fuzz.sh [--short] [--seeds "1 2 ..."] [--calls N] [--mutations N]
#       (after tools/build)
#
#   full (default)  seeds 1-10, 5000 calls each, then 500 mutations (seed 1)
#   --short         seeds 1-2, 3000 calls each, then 200 mutations (seed 1): well under a minute
#
# Prints each run's summary lines, then the offenders of all seeds (methods whose calls pushed
# more than one error message) and a "fuzz:" line of figures. Exits non-zero when an engine
# process failed (non-zero exit, a signal, the time limit), a Rust panic or a GDScript error was
# seen, a refusal of the addon pushed more than one message of its own (an "ours" offender) or
# one over 1000 characters, or the fresh pair did not work after the mutations; it then prints
# the seed, the last CALL line, the crash or the end of the log, and the path of the kept log.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

seeds="1 2 3 4 5 6 7 8 9 10"
calls=5000
mutations=500
while [[ $# -gt 0 ]]; do
  case "$1" in
    --short) seeds="1 2" calls=3000 mutations=200 ;;
    --seeds) seeds=$2; shift ;;
    --calls) calls=$2; shift ;;
    --mutations) mutations=$2; shift ;;
    *) echo "usage: tools/faults.d/fuzz.sh [--short] [--seeds \"1 2 ...\"] [--calls N] [--mutations N]" >&2; exit 2 ;;
  esac
  shift
done
# Time limits of one engine process: the script stops itself 30 s before (--max-seconds) and
# says so; the limit catches a hang of the engine itself.
fuzz_limit=$((90 + calls / 25))
mutation_limit=$((90 + mutations / 10))

export WEBRTC_MESH_BIND_ADDRESS=127.0.0.1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
started=$SECONDS

# run NAME SEED LIMIT SCRIPT ARGS...: runs one engine process; its log is "$work/NAME-SEED.log".
run() {
  local name=$1 seed=$2 limit=$3 script=$4
  shift 4
  local log="$work/$name-$seed.log" status=0 why=""
  timeout -k 5 "$limit" tools/godot --headless --path godot-project --script "res://faults/$script" \
    -- --seed "$seed" --max-seconds $((limit - 30)) "$@" >"$log" 2>&1 || status=$?
  if [[ $status -eq 124 || $status -eq 137 ]]; then
    why="no exit within $limit s (killed)"
  elif [[ $status -gt 128 ]]; then
    why="killed by signal $((status - 128))"
  elif [[ $status -ne 0 ]]; then
    why="exit code $status"
  fi
  # A panic on a runtime thread reaches only stderr, not the engine's loggers.
  if [[ -z "$why" ]] && grep -q "panicked at" "$log"; then why="a Rust panic"; fi
  if [[ -z "$why" ]] && grep -q "^SCRIPT ERROR" "$log"; then why="a GDScript error"; fi
  if [[ -z "$why" ]] && grep -q "^OFFENDER ours " "$log"; then
    why="a refusal of the addon pushed several messages of its own"
  fi
  if [[ -z "$why" ]] && grep -qE "^(FUZZ kinds|MUTATED candidates).*chars: [^(]*ours [0-9]" "$log"; then
    why="a message of the addon was over 1000 characters (an input quoted whole)"
  fi
  grep -E "^(FUZZ calls|FUZZ kinds|FUZZ states|FUZZ time|FUZZ slow|MUTATED|AFTER|PANIC|FUZZ STOPPED)" "$log" |
    sed "s/^/  [$name $seed] /" | cut -c1-300 || true
  if [[ -n "$why" ]]; then
    failed=$((failed + 1))
    local kept="${TMPDIR:-/tmp}/fuzz-$name-seed$seed.log"
    cp "$log" "$kept"
    echo "  [$name $seed] FAILED: $why"
    echo "  [$name $seed] last call: $(grep -E '^CALL ' "$log" | tail -n 1 | cut -c1-300)"
    grep -E "^(PANIC|OFFENDER ours )|panicked at|^SCRIPT ERROR" "$log" | head -n 5 | sed "s/^/    /" | cut -c1-300 || true
    if grep -q "crashed with signal" "$log"; then
      echo "  [$name $seed] the crash:"
      grep -m 1 -A 12 "crashed with signal" "$log" | sed "s/^/    /" | cut -c1-300 || true
    else
      echo "  [$name $seed] its log ends:"
      grep -vE '^(CALL |   |       \[)' "$log" | tail -n 8 | sed "s/^/    /" | cut -c1-300 || true
    fi
    echo "  [$name $seed] log kept: $kept; again: WEBRTC_MESH_BIND_ADDRESS=127.0.0.1 tools/godot" \
      "--headless --path godot-project --script res://faults/$script -- --seed $seed $*"
  fi
}

for seed in $seeds; do
  run fuzz "$seed" "$fuzz_limit" fuzz_methods.gd --calls "$calls"
done
read -r mutation_seed _ <<<"$seeds"
run mutated "$mutation_seed" "$mutation_limit" mutated_descriptions.gd --count "$mutations"

echo "offenders (calls that pushed more than one error message), all seeds:"
cat "$work"/*.log | awk '
  /^OFFENDER / {
    key = $2 " " $3
    n = $4; sub("calls=", "", n); m = $5; sub("max=", "", m)
    calls[key] += n
    if (m + 0 > max[key]) max[key] = m + 0
    if (!(key in sample)) { s = $0; sub(/.* e\.g\. /, "", s); sample[key] = substr(s, 1, 150) }
  }
  END { for (key in calls) printf "  %-12s %-52s calls=%d max=%d e.g. %s\n", substr(key, 1, index(key, " ") - 1), substr(key, index(key, " ") + 1), calls[key], max[key], sample[key] }
' | sort -t= -k2 -n -r | sort -s -k1,1 || true
totals=$(cat "$work"/fuzz-*.log | awk '
  /^FUZZ calls=/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); sum[kv[1]] += kv[2]; if (kv[1] == "max_errors_per_call" && kv[2] > most) most = kv[2] } }
  END { printf "%d calls, %d errors pushed, %d calls with errors, at most %d in one call", sum["calls"], sum["errors"], sum["calls_with_errors"], most }')
echo "fuzz: seeds ${seeds// /,}: $totals; $mutations mutations (seed $mutation_seed);" \
  "$failed failed; $((SECONDS - started)) s"
[[ $failed -eq 0 ]]
