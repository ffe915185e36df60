#!/usr/bin/env bash
# Interrupted handshakes: seeded trials of godot-project/faults/interrupted_handshake.gd, one
# engine process each: two meshes start connecting and one is closed, freed, has its peer
# removed, has its connection closed, or the engine quits, at a moment of 0-800 ms. Every process
# must exit with code 0 within 2 s of its quit().
#
#   tools/faults.d/interrupted.sh [--trials N]     (default 50; after tools/build)
#
# Prints one line per trial and an "interrupted handshakes:" line of figures.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
trials=50
[[ "${1:-}" == "--trials" ]] && trials=$2
export WEBRTC_MESH_BIND_ADDRESS=127.0.0.1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
declare -A phases=() actions=()
worst_exit_ms=0
failed=0
for seed in $(seq 1 "$trials"); do
  status=0
  timeout -k 5 20 tools/godot --headless --path godot-project \
    --script res://faults/interrupted_handshake.gd -- --seed "$seed" >"$log" 2>&1 || status=$?
  ended=$(date +%s%3N)
  trial=$(sed -n 's/^TRIAL //p' "$log" | head -n 1)
  quit_at=$(sed -n 's/^QUIT_AT //p' "$log" | head -n 1)
  if [[ $status -ne 0 || -z "$trial" || -z "$quit_at" ]] || grep -q "SCRIPT ERROR" "$log"; then
    echo "  trial $seed: FAILED (exit code $status; ${trial:-no trial line})"
    tail -n 20 "$log" | sed 's/^/    /'
    failed=$((failed + 1))
    continue
  fi
  exit_ms=$((ended - quit_at))
  read -r _ action at_ms phase <<<"$trial"
  echo "  trial $seed: $action at $at_ms ms ($phase): exited $exit_ms ms after quit()"
  phases[$phase]=$((${phases[$phase]:-0} + 1))
  actions[$action]=$((${actions[$action]:-0} + 1))
  ((exit_ms > worst_exit_ms)) && worst_exit_ms=$exit_ms
  if ((exit_ms > 2000)); then
    echo "  trial $seed: the engine took more than 2 s to exit"
    failed=$((failed + 1))
  fi
done
summary() {
  local -n counts=$1
  local key text=""
  for key in "${!counts[@]}"; do text+="$key ${counts[$key]}, "; done
  echo "${text%, }"
}
echo "interrupted handshakes: $trials trials, $failed failed; by action: $(summary actions);" \
  "by phase reached: $(summary phases); slowest exit ${worst_exit_ms} ms after quit()"
[[ $failed -eq 0 ]]
