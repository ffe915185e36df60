# shellcheck shell=bash disable=SC2154  # repo, work, stun... are set by tools/netlab
# The lab goals of issue 20 (tools/netlab --only goals), sourced by tools/netlab. Between cone-a
# and cone-b, with STUN, LAB_RUNS times (default 5):
#   p0, p2  1000 reliable 1 KiB messages each way at 1000/s over WebRTC at 0 and 2 % loss, and
#   e2      the same over ENet at 2 % loss: p99 one-way latency <= ENet's on both sides, with
#           the UDP payload both routers forwarded out <= 1.25x the lossless run's;
#   f10     1000 reliable 1 KiB messages each way sent as fast as the channel takes them at 10 %
#           loss: all delivered in < 3 s (first sent to last received, on both sides);
#   u5      an unreliable channel at 5 % loss, 2000 messages of 1 KiB (one chunk each) every 5 ms
#           each way: at least (1 - loss) of them arrive (loss: the share of the data-sized
#           datagrams, > 1000 bytes, the receiver's router dropped), p99 < 200 ms, none > 1 s;
# then LAB_CONNECT_TRIES (default 20) connections at 10 % loss: median < 1 s, 18 of 20 < 2 s
# (a try's time: the later of the two peers' connect times; a try that never connects counts as
# slower than every bound). tools/netlab.d/goals.py records each run's figures, prints them and
# the "met in N of M" lines, and adds them to NETLAB_FIGURES (key "goals") for bench-report.

# Drops N percent of the UDP entering each home router given after N, as set_loss does, with
# counters: UDP the router forwards out (comment "out"), UDP entering it (comment "in") and the
# data-sized part of it (> 1000 bytes, "in-big"), and what it drops ("drop", "drop-big"). One
# random draw per packet decides both drop rules (kept in the packet's mark).
set_counted_loss() {
  local percent=$1 home router
  shift
  for home in "$@"; do
    router=$(ns "$home-r")
    ip netns exec "$router" nft -f - <<NFT
flush chain inet wm_loss forward
add rule inet wm_loss forward iifname "lan" oifname "wan" meta l4proto udp counter comment "out"
add rule inet wm_loss forward iifname "wan" meta l4proto udp counter comment "in"
add rule inet wm_loss forward iifname "wan" meta l4proto udp meta length > 1000 counter comment "in-big"
add rule inet wm_loss forward iifname "wan" meta l4proto udp meta mark set numgen random mod 100
add rule inet wm_loss forward iifname "wan" meta l4proto udp meta mark < $percent meta length > 1000 counter drop comment "drop-big"
add rule inet wm_loss forward iifname "wan" meta l4proto udp meta mark < $percent counter drop comment "drop"
NFT
  done
}

# Writes the counters of set_counted_loss of cone-a's and cone-b's routers to $1 as JSON
# ({"cone-a": nft -j output, "cone-b": ...}).
save_counters() {
  {
    echo '{"cone-a": '
    ip netns exec "$(ns cone-a-r)" nft -j list chain inet wm_loss forward
    echo ', "cone-b": '
    ip netns exec "$(ns cone-b-r)" nft -j list chain inet wm_loss forward
    echo '}'
  } >"$1"
}

# Runs goal scenario $1 (a name unique in the whole group) at $2 % loss between cone-a and
# cone-b, over $3 (webrtc or enet), with the peer.gd options after; records its logs and
# counters for goals.py in $work/$1.counters.json.
goal_scenario() {
  local scenario=$1 percent=$2 kind=$3
  shift 3
  set_counted_loss "$percent" cone-a cone-b
  if [[ $kind == webrtc ]]; then
    start_webrtc "$scenario" "cone-a cone-b" --ice "$stun" "$@"
  else
    start_enet "$scenario" "$@"
  fi
  wait_scenario "$scenario" 50
  save_counters "$work/$scenario.counters.json"
}

# goals.py with the run's directory and the arguments given.
goals_py() {
  python3 "$repo/tools/netlab.d/goals.py" "$work" "$@"
}

scenarios_goals() {
  local runs=${LAB_RUNS:-5} tries=${LAB_CONNECT_TRIES:-20} run try started_goals=$SECONDS
  local -a paced=(--messages 1000 --size 1024 --rate 1000 --timeout 30)
  for run in $(seq 1 "$runs"); do
    echo "== [G] run $run of $runs: cone-a + cone-b, STUN"
    goal_scenario "g$run-p0" 0 webrtc "${paced[@]}"
    goal_scenario "g$run-p2" 2 webrtc "${paced[@]}"
    goal_scenario "g$run-e2" 2 enet "${paced[@]}"
    goal_scenario "g$run-f10" 10 webrtc --messages 1000 --size 1024 --rate 0 --timeout 30
    goal_scenario "g$run-u5" 5 webrtc --messages 2000 --size 1024 --rate 200 --mode unreliable --timeout 40
    goals_py run "$run"
  done
  echo "== [G] connecting at 10 % loss: $tries tries"
  for try in $(seq 1 "$tries"); do
    goal_scenario "c$try" 10 webrtc --messages 1 --size 64 --timeout 30
    goals_py connect "$try"
  done
  set_loss 0 cone-a cone-b
  echo "== [G] the goals ($runs runs, $tries connection tries, $((SECONDS - started_goals)) s;" \
    "the machine's load during the runs: $(cut -d' ' -f1-3 /proc/loadavg))"
  goals_py judge "$runs" "$tries"
}
