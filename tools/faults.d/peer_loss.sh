#!/usr/bin/env bash
# A peer lost mid-transfer: three engine processes (godot-project/faults/peer_loss.gd) and the
# signaling server on 127.0.0.1. The survivor creates a lobby, the streamer joins it and streams
# reliable 1 KiB messages; then the streamer is killed with SIGKILL (kill), calls close() on its
# mesh (close) or quits its engine without closing anything (quit). The survivor must emit peer_disconnected within the bound, keep its frames short,
# and then connect to a third process that joins the same lobby.
#
#   tools/faults.d/peer_loss.sh kill|close|quit     (after tools/build)
#
# Prints one "peer loss (MODE):" line of figures; exits non-zero when a step fails or is late.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
mode=${1:-}
case "$mode" in
  # ICE calls a silent path disconnected after 5 s without a packet (consent checks go every 2 s
  # while idle), checked every 200 ms: the bound leaves room for a busy machine.
  kill) lost_limit_ms=9000 ;;
  # close(), and the connections' end when the engine quits, send an SCTP ABORT and a DTLS
  # close_notify: the survivor hears it at once.
  close | quit) lost_limit_ms=2000 ;;
  *) echo "usage: tools/faults.d/peer_loss.sh kill|close|quit" >&2; exit 2 ;;
esac
export WEBRTC_MESH_BIND_ADDRESS=127.0.0.1
work=$(mktemp -d)
pids=()
cleanup() {
  # timeout passes TERM on to the engine it runs.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "peer loss ($mode): $1" >&2
  for log in "$work"/*.log; do echo "--- $(basename "$log")" >&2; tail -n 20 "$log" >&2; done
  exit 1
}
wait_for() { # file pattern seconds
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.05
  done
}
field() { # file word index: the index-th word of the first line starting with word
  sed -n "s/^$2 //p" "$1" | head -n 1 | cut -d' ' -f"$3"
}
peer() { # role log options...
  local role=$1 log=$2
  shift 2
  timeout -k 5 60 tools/godot --headless --path godot-project --script res://faults/peer_loss.gd \
    -- --role "$role" --url "$url" --timeout 50 "$@" >"$log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}

target/debug/webrtc-mesh-signaling --host 127.0.0.1 --port 0 >"$work/server.log" 2>&1 &
pids+=($!)
wait_for "$work/server.log" "listening on" 10 || fail "the signaling server did not start"
url=$(sed -n 's/^listening on //p' "$work/server.log" | head -n 1)

peer survivor "$work/survivor.log"
survivor_pid=$last_pid
wait_for "$work/survivor.log" "^LOBBY " 20 || fail "the survivor made no lobby"
room=$(field "$work/survivor.log" LOBBY 1)
extra=()
[[ $mode != kill ]] && extra=(--stop-after-ms 1000 --stop "$mode")
peer streamer "$work/streamer.log" --room "$room" "${extra[@]}"
streamer_pid=$last_pid
wait_for "$work/survivor.log" "^STREAMING " 20 || fail "the stream never started"
if [[ $mode == kill ]]; then
  engine=$(pgrep -P "$streamer_pid") || fail "the streamer's engine is not running"
  cut_ms=$(date +%s%3N)
  kill -KILL "$engine"
else
  wait_for "$work/streamer.log" "^STOPPING " 20 || fail "the streamer never stopped"
  cut_ms=$(field "$work/streamer.log" STOPPING 1)
fi
wait_for "$work/survivor.log" "^LOST " 30 || fail "the survivor never emitted peer_disconnected"
lost_ms=$(($(field "$work/survivor.log" LOST 2) - cut_ms))
received=$(field "$work/survivor.log" LOST 3)
signaling_ms=-1
if wait_for "$work/survivor.log" "^SIGNALING_LEFT " 5; then
  signaling_ms=$(($(field "$work/survivor.log" SIGNALING_LEFT 2) - cut_ms))
fi

third_started_ms=$(date +%s%3N)
peer third "$work/third.log" --room "$room"
third_pid=$last_pid
wait_for "$work/survivor.log" "^THIRD_OK " 20 || fail "the third peer never reached the survivor"
third_ms=$(($(field "$work/survivor.log" THIRD_OK 1) - third_started_ms))
for pid in "$survivor_pid" "$third_pid"; do
  wait "$pid" || fail "a process exited with an error"
done
[[ $mode != kill ]] && { wait "$streamer_pid" || fail "the streamer exited with an error"; }
longest_frame=$(field "$work/survivor.log" DONE 1)

echo "peer loss ($mode): peer_disconnected ${lost_ms} ms after the cut (bound ${lost_limit_ms} ms;" \
  "${received} messages received); the signaling server said so after ${signaling_ms} ms;" \
  "a third peer answered ${third_ms} ms after it started; survivor's longest frame ${longest_frame} ms"
[[ $lost_ms -le $lost_limit_ms ]] || fail "peer_disconnected came after ${lost_ms} ms"
