# shellcheck shell=bash disable=SC2154,SC2034  # repo, work, lab... are set by tools/netlab
# The netlab's simulated internet, sourced by tools/netlab: network namespaces, veth links, the
# public bridge, the home routers (nftables NAT, firewall, loss), coturn and the signaling server,
# and the cleanup that removes all of it. Everything is created inside namespaces named
# "<lab><node>" (lab = wm-<pid>-); nothing is added to the root namespace (veth pairs are created
# inside the namespaces, no forwarding, rules or routes there).
#
# Expects from tools/netlab: repo, work (a temp dir), lab (the name prefix), turn_password,
# turn_secret; uses and extends the arrays pids (processes to stop) and namespaces (namespaces to
# remove).
#
# Addresses: 198.18.0.0/24 (in the benchmarking range 198.18.0.0/15) is "the internet": a bridge
# in the namespace "pub" holding 198.18.0.1 (coturn, signaling) and 198.18.0.2 (coturn's second
# address), the routers' WAN sides and the public peer. Private ranges exist only behind routers.
# With lab_ipv6=1 (the ipv6 group), the bridge is also an IPv6 segment, fd00:6::/64 (unique
# local): pub holds fd00:6::1 (coturn, a signaling server), two peer hosts have only IPv6
# (v6-a, v6-b: no IPv4 address at all) and one has both (dual). A NAT64 host (nat64, fd00:6::64
# and 198.18.0.64) translates fd00:64::/96 with tayga (a network-specific prefix: the well-known
# 64:ff9b::/96 must not reach non-global IPv4 addresses, RFC 6052 §3.1) and answers the IPv6-only
# hosts' DNS (dns64.py, given them as /etc/netns/<namespace>/resolv.conf, which `ip netns exec`
# mounts).

server_ip=198.18.0.1
server_ip2=198.18.0.2
# The TURN REST coturn (start_coturn_rest): its listening and relay address.
server_ip3=198.18.0.3
public_peer_ip=198.18.0.30
# A second peer host on the public segment (the relay takeover scenario needs two members that
# reach the symmetric homes).
public2_peer_ip=198.18.0.31
# The IPv6 segment (lab_ipv6=1): the servers' address and each peer host's.
server_ip6=fd00:6::1
server_ip6_full=fd00:6:0:0:0:0:0:1
declare -A ipv6_of=([v6-a]=fd00:6::41 [v6-b]=fd00:6::42 [dual]=fd00:6::32)
dual_peer_ip=198.18.0.32
nat64_ip6=fd00:6::64
nat64_ip=198.18.0.64
nat64_prefix=fd00:64::
# The prefix's first 96 bits written in full, for URLs Godot reads (start_signaling_ipv6).
nat64_prefix_full=fd00:64:0:0:0:0:
# tayga's own address and the pool IPv6 hosts' packets get as IPv4 sources (masqueraded to
# nat64_ip on the way out).
nat64_pool=192.168.255
lab_ipv6=${lab_ipv6:-0}
# The port the ENet server listens on, forwarded by the router of home cone-b.
enet_port=7777
homes=(cone-a cone-b sym-a sym-b)
declare -A wan_ip=([cone-a]=198.18.0.11 [cone-b]=198.18.0.12 [sym-a]=198.18.0.21 [sym-b]=198.18.0.22)
declare -A lan_net=([cone-a]=10.11.0 [cone-b]=10.12.0 [sym-a]=192.168.21 [sym-b]=192.168.22)
declare -A nat_kind=([cone-a]=cone [cone-b]=cone [sym-a]=symmetric [sym-b]=symmetric)
# The address each peer host binds (WEBRTC_MESH_BIND_ADDRESS): its own, so host candidates are it.
# The IPv6 group's peers bind the IPv6 wildcard, the default: one dual-stack socket.
declare -A host_ip=([public]=$public_peer_ip [public2]=$public2_peer_ip [v6-a]=:: [v6-b]=:: [dual]=::)
for home in "${homes[@]}"; do host_ip[$home]=${lan_net[$home]}.2; done
unset home
# Every node name, to recognise this script's namespaces from an earlier run.
lab_nodes="probe|pub|public|public2|cone-a|cone-a-r|cone-b|cone-b-r|sym-a|sym-a-r|sym-b|sym-b-r|v6-a|v6-b|dual|nat64"

# The namespace name of lab node $1.
ns() {
  echo "$lab$1"
}

# Creates the namespace of node $1 with its loopback up.
add_ns() {
  ip netns add "$(ns "$1")"
  namespaces+=("$(ns "$1")")
  ip -n "$(ns "$1")" link set lo up
}

# Has interface $2 of namespace $1 cut segmented sends (UDP GSO) into datagrams as it sends them,
# as a real network card does before the wire. A veth passes a segmented send on whole, so the
# routers' loss rules would judge (and drop) a whole batch of datagrams as one packet.
no_segmented_sends() {
  ip -n "$1" link set dev "$2" gso_max_segs 1
}

# Connects node $1 to the public bridge through its interface $2, with address $3/24, and routes
# everything else to the public namespace.
attach_public() {
  ip -n "$(ns "$1")" link add "$2" type veth peer name "to-$1" netns "$(ns pub)"
  ip -n "$(ns pub)" link set "to-$1" master br0 up
  ip -n "$(ns "$1")" addr add "$3/24" dev "$2"
  ip -n "$(ns "$1")" link set "$2" up
  no_segmented_sends "$(ns "$1")" "$2"
  # Whatever is not on the public segment goes to pub, which does not forward: the internet
  # drops packets to private addresses silently.
  ip -n "$(ns "$1")" route add default via "$server_ip"
}

# Connects node $1 to the public bridge through its interface $2 with only IPv6 address $3/64
# (no IPv4 address: an IPv6-only network), or with IPv4 address $4/24 too when given.
attach_public_ipv6() {
  local node=$1 device=$2 ipv6=$3 ipv4=${4:-}
  ip netns exec "$(ns "$node")" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
  ip -n "$(ns "$node")" link add "$device" type veth peer name "to-$node" netns "$(ns pub)"
  ip -n "$(ns pub)" link set "to-$node" master br0 up
  # nodad: the address is usable at once (duplicate address detection would hold it ~2 s).
  ip -n "$(ns "$node")" addr add "$ipv6/64" dev "$device" nodad
  [[ -z $ipv4 ]] || ip -n "$(ns "$node")" addr add "$ipv4/24" dev "$device"
  ip -n "$(ns "$node")" link set "$device" up
  no_segmented_sends "$(ns "$node")" "$device"
  ip -n "$(ns "$node")" -6 route add default via "$server_ip6"
  [[ -z $ipv4 ]] || ip -n "$(ns "$node")" route add default via "$server_ip"
}

# The nftables rules of home $1's router: a home router's stateful firewall (nothing enters
# unasked but the ENet port forward of cone-b), the NAT of its kind (cone: masquerade, which
# keeps one public port per local socket; symmetric: masquerade fully-random, a new random
# port per destination), and an empty chain for simulated loss (set_loss).
router_rules() {
  local home=$1 nat="masquerade" forward=""
  [[ ${nat_kind[$home]} == symmetric ]] && nat="masquerade fully-random"
  [[ $home == cone-b ]] && forward="iifname \"wan\" udp dport $enet_port dnat to ${host_ip[$home]}:$enet_port"
  cat <<NFT
table inet wm_filter {
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    iifname "lan" accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    iifname "wan" ct status dnat accept
  }
}
table ip wm_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    $forward
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" $nat
  }
}
table inet wm_loss {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
  }
}
NFT
}

# Builds home $1: a router namespace ($1-r) whose WAN is on the public bridge, with forwarding
# on and the rules of router_rules, and a host namespace ($1) at .2 of the home's LAN whose
# default route is the router at .1.
add_home() {
  local home=$1 router host lan=${lan_net[$1]}
  router=$(ns "$home-r")
  host=$(ns "$home")
  add_ns "$home-r"
  add_ns "$home"
  attach_public "$home-r" wan "${wan_ip[$home]}"
  ip -n "$router" link add lan type veth peer name eth0 netns "$host"
  ip -n "$router" addr add "$lan.1/24" dev lan
  ip -n "$router" link set lan up
  ip -n "$host" addr add "$lan.2/24" dev eth0
  ip -n "$host" link set eth0 up
  no_segmented_sends "$host" eth0
  ip -n "$host" route add default via "$lan.1"
  ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
  router_rules "$home" | ip netns exec "$router" nft -f -
}

# Builds the whole lab: the public bridge with the servers' addresses, the two public peers'
# hosts and the four homes.
build_lab() {
  add_ns pub
  ip -n "$(ns pub)" link add br0 type bridge
  ip -n "$(ns pub)" addr add "$server_ip/24" dev br0
  ip -n "$(ns pub)" addr add "$server_ip2/24" dev br0
  ip -n "$(ns pub)" addr add "$server_ip3/24" dev br0
  if [[ $lab_ipv6 -eq 1 ]]; then
    ip netns exec "$(ns pub)" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
    ip -n "$(ns pub)" addr add "$server_ip6/64" dev br0 nodad
  fi
  ip -n "$(ns pub)" link set br0 up
  # Like the internet, pub drops packets to private addresses silently (without a route,
  # coturn's relay gets "network unreachable" for them and drops the allocation): its default
  # route leads into a veth pair whose far end, also in pub, discards frames not addressed to it.
  ip -n "$(ns pub)" link add void type veth peer name void-end
  ip -n "$(ns pub)" link set void up
  ip -n "$(ns pub)" link set void-end up
  ip -n "$(ns pub)" neigh add 169.254.0.2 lladdr 02:00:00:00:00:02 dev void
  ip -n "$(ns pub)" route add default via 169.254.0.2 dev void onlink
  add_ns public
  attach_public public eth0 "$public_peer_ip"
  add_ns public2
  attach_public public2 eth0 "$public2_peer_ip"
  local home node
  for home in "${homes[@]}"; do add_home "$home"; done
  [[ $lab_ipv6 -eq 1 ]] || return 0
  add_ns nat64
  attach_public_ipv6 nat64 eth0 "$nat64_ip6" "$nat64_ip"
  for node in v6-a v6-b; do
    add_ns "$node"
    attach_public_ipv6 "$node" eth0 "${ipv6_of[$node]}"
    ip -n "$(ns "$node")" -6 route add "$nat64_prefix/96" via "$nat64_ip6"
    mkdir -p "/etc/netns/$(ns "$node")"
    echo "nameserver $nat64_ip6" >"/etc/netns/$(ns "$node")/resolv.conf"
  done
  add_ns dual
  attach_public_ipv6 dual eth0 "${ipv6_of[dual]}" "$dual_peer_ip"
}

# Starts NAT64 in the nat64 namespace: tayga translating $nat64_prefix/96 to and from the pool
# (its IPv4 sources masqueraded to $nat64_ip on the public segment) and dns64.py, the resolver
# the IPv6-only hosts ask (RFC 7050 discovery finds the prefix through it).
start_nat64() {
  local node
  node=$(ns nat64)
  cat >"$work/tayga.conf" <<CONF
tun-device nat64
ipv4-addr $nat64_pool.1
prefix $nat64_prefix/96
dynamic-pool $nat64_pool.0/24
data-dir $work/tayga
CONF
  mkdir -p "$work/tayga"
  ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip netns exec "$node" tayga -c "$work/tayga.conf" --mktun >"$work/tayga.log" 2>&1
  ip -n "$node" link set nat64 up
  ip -n "$node" addr add "$nat64_ip" dev nat64
  ip -n "$node" addr add "$nat64_ip6" dev nat64 nodad
  ip -n "$node" route add "$nat64_pool.0/24" dev nat64
  ip -n "$node" -6 route add "$nat64_prefix/96" dev nat64
  ip netns exec "$node" nft -f - <<NFT
table ip wm_nat64 {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr $nat64_pool.0/24 oifname "eth0" masquerade
  }
}
NFT
  ip netns exec "$node" tayga -c "$work/tayga.conf" --nodetach >>"$work/tayga.log" 2>&1 &
  pids+=($!)
  ip netns exec "$node" python3 "$repo/tools/netlab.d/dns64.py" --bind "$nat64_ip6" --prefix "$nat64_prefix" \
    >"$work/dns64.log" 2>&1 &
  pids+=($!)
  wait_listening nat64 "udp [$nat64_ip6]:53" || {
    echo "netlab: the lab's DNS64 resolver did not start:" >&2
    cat "$work/dns64.log" >&2
    return 1
  }
}

# Drops N percent (0 removes the rule, 100 drops all) of the UDP packets entering the routers of the homes
# given after N from the internet side, so each direction of a path between two of them loses
# N percent.
set_loss() {
  local percent=$1 home router
  shift
  for home in "$@"; do
    router=$(ns "$home-r")
    ip netns exec "$router" nft flush chain inet wm_loss forward
    if [[ $percent -ge 100 ]]; then
      ip netns exec "$router" nft add rule inet wm_loss forward \
        iifname wan meta l4proto udp counter drop
    elif [[ $percent -gt 0 ]]; then
      ip netns exec "$router" nft add rule inet wm_loss forward \
        iifname wan meta l4proto udp numgen random mod 100 "<" "$percent" counter drop
    fi
  done
}

# Cuts the path between homes $2 and $3 ($1 = on) or mends it ($1 = off): each one's router drops
# the UDP entering it from the other's WAN address (both directions lost, everything else, the
# STUN server and other members, still passes). Replaces the routers' loss rules.
set_cut() {
  local on=$1 home other
  for home in "$2" "$3"; do
    other=$3
    [[ $home == "$3" ]] && other=$2
    ip netns exec "$(ns "$home-r")" nft flush chain inet wm_loss forward
    [[ $on == on ]] || continue
    ip netns exec "$(ns "$home-r")" nft add rule inet wm_loss forward \
      iifname wan ip saddr "${wan_ip[$other]}" meta l4proto udp counter drop
  done
}

# Cuts host node $1 (a peer's namespace) off the network ($2 = on) or back on (off): with it on,
# the namespace drops every packet in and out, so nothing it had answers any more, not even with
# ICMP (as when a player's connection goes away).
set_cut_off() {
  if [[ $2 == on ]]; then
    ip netns exec "$(ns "$1")" nft -f - <<NFT
table inet wm_gone {
  chain input { type filter hook input priority filter; policy drop; }
  chain output { type filter hook output priority filter; policy drop; }
}
NFT
  else
    ip netns exec "$(ns "$1")" nft delete table inet wm_gone 2>/dev/null || true
  fi
}

# How many packets the loss rule of home $1's router dropped.
dropped_by() {
  local count
  count=$(ip netns exec "$(ns "$1-r")" nft list chain inet wm_loss forward |
    sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -n 1)
  echo "${count:-0}"
}

# Waits until file $1 holds a line matching $2, for $3 seconds at most.
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.1
  done
}

# Waits until node $1 has a socket listening on $2 (e.g. "udp 198.18.0.1:3478"), 10 s at most.
wait_listening() {
  local deadline=$((SECONDS + 10)) proto=${2%% *} address=${2#* }
  until ip netns exec "$(ns "$1")" ss -Hln --"$proto" | awk '{print $4}' | grep -qxF "$address"; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.1
  done
}

# Starts coturn in the public namespace: STUN and TURN over UDP and TCP on both server
# addresses (port 3478) and TLS (port 5349, a self-signed certificate for the server's address,
# which the peers trust through WEBRTC_MESH_TURN_CA_FILE), long-term credentials
# (user netlab), relays on 198.18.0.1, no CLI, its user database and log in the temp dir.
start_coturn() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=turn.netlab.test" \
    -addext "subjectAltName=IP:$server_ip,IP:$server_ip3" -addext "basicConstraints=critical,CA:FALSE" -keyout "$work/turn.key" -out "$work/turn.crt" 2>/dev/null
  local ipv6_lines=""
  # With the IPv6 segment, also STUN and TURN on fd00:6::1 (relays stay IPv4 unless a client asks for IPv6).
  [[ $lab_ipv6 -eq 1 ]] && ipv6_lines="listening-ip=$server_ip6
relay-ip=$server_ip6"
  cat >"$work/turnserver.conf" <<CONF
listening-ip=$server_ip
listening-ip=$server_ip2
relay-ip=$server_ip
$ipv6_lines
listening-port=3478
tls-listening-port=5349
min-port=49152
max-port=49407
realm=netlab.test
lt-cred-mech
user=netlab:$turn_password
fingerprint
cert=$work/turn.crt
pkey=$work/turn.key
userdb=$work/turndb
pidfile=$work/turnserver.pid
no-cli
no-multicast-peers
log-file=stdout
simple-log
verbose
CONF
  ip netns exec "$(ns pub)" turnserver -c "$work/turnserver.conf" >"$work/coturn.log" 2>&1 &
  pids+=($!)
  local listener
  local -a listeners=("udp $server_ip:3478" "udp $server_ip2:3478" "tcp $server_ip:3478" "tcp $server_ip:5349")
  [[ $lab_ipv6 -eq 1 ]] && listeners+=("udp [$server_ip6]:3478")
  for listener in "${listeners[@]}"; do
    wait_listening pub "$listener" && continue
    echo "netlab: coturn is not listening on $listener:" >&2
    tail -n 20 "$work/coturn.log" >&2
    return 1
  done
}

# The lines of deploy/turnserver.conf the lab sets itself (addresses, ports, realm, secret,
# certificate, log, pid and database files); every other line of the example is kept.
lab_owned_keys='listening-ip|relay-ip|external-ip|listening-port|tls-listening-port|min-port|max-port|realm|server-name|static-auth-secret|cert|pkey|syslog|log-file|pidfile|userdb'
# The one denied range the lab's internet (198.18.0.0/24, in the benchmarking range) lives in: the
# lab drops this line of the example, as its "Lab and LAN setups" note says, and only this one.
lab_allowed_range='denied-peer-ip=198.18.0.0-198.19.255.255'

# Writes the TURN REST coturn's configuration to stdout: deploy/turnserver.conf, the hardened
# example of the README, without the lines of lab_owned_keys and lab_allowed_range, then the
# lab's own values. Fails if the example lacks lab_allowed_range.
lab_turnserver_conf() {
  local example="$repo/deploy/turnserver.conf"
  grep -qxF "$lab_allowed_range" "$example" || {
    echo "netlab: deploy/turnserver.conf has no line '$lab_allowed_range' for the lab to drop" >&2
    return 1
  }
  grep -vE "^($lab_owned_keys)(=|\$)" "$example" | grep -vxF "$lab_allowed_range"
  cat <<CONF
listening-ip=$server_ip3
relay-ip=$server_ip3
listening-port=3478
tls-listening-port=5349
min-port=49408
max-port=49663
realm=netlab.test
server-name=netlab.test
static-auth-secret=$turn_secret
cert=$work/turn.crt
pkey=$work/turn.key
userdb=$work/turndb-rest
pidfile=$work/turnserver-rest.pid
log-file=stdout
verbose
CONF
}

# Starts a second coturn in the public namespace, on 198.18.0.3 (STUN and TURN over UDP and TCP,
# port 3478, and TLS, port 5349; relays on 198.18.0.3), configured from deploy/turnserver.conf,
# the example users deploy (lab_turnserver_conf): TURN REST credentials only (use-auth-secret,
# static-auth-secret: the signaling server started by start_signaling_rest hands them out), no
# relaying to any special-purpose range but the lab's own (denied-peer-ip) nor to multicast, UDP
# relays only, quotas per username and in all, a bandwidth cap per allocation, TLS 1.2 and later,
# no CLI. Its configuration is turnserver-rest.conf, its log coturn-rest.log.
start_coturn_rest() {
  lab_turnserver_conf >"$work/turnserver-rest.conf" || return 1
  ip netns exec "$(ns pub)" turnserver -c "$work/turnserver-rest.conf" >"$work/coturn-rest.log" 2>&1 &
  pids+=($!)
  local listener
  for listener in "udp $server_ip3:3478" "tcp $server_ip3:3478" "tcp $server_ip3:5349"; do
    wait_listening pub "$listener" && continue
    echo "netlab: the TURN REST coturn is not listening on $listener:" >&2
    tail -n 20 "$work/coturn-rest.log" >&2
    return 1
  done
}

# Starts a second signaling server in the public namespace on 198.18.0.1:9081 that hands lobby
# members TURN REST credentials for the coturn of start_coturn_rest (TURN/UDP and TURN/TCP), every
# setting given in the environment (WEBRTC_MESH_*, as the container image takes them), and sets
# rest_signaling_url.
start_signaling_rest() {
  launch_signaling rest WEBRTC_MESH_TURN_SECRET="$turn_secret" WEBRTC_MESH_HOST="$server_ip" \
    WEBRTC_MESH_PORT=9081 WEBRTC_MESH_TURN_TTL=600 \
    WEBRTC_MESH_TURN_URL="turn:$server_ip3:3478?transport=udp,turn:$server_ip3:3478?transport=tcp" || return 1
  rest_signaling_url=$launched_url
}

# Starts a signaling server in the public namespace, named $1 (its log is signaling-$1.log),
# configured by the WEBRTC_MESH_* assignments that follow, and sets launched_url to the URL it
# prints.
launch_signaling() {
  local name=$1
  shift
  local log="$work/signaling-$name.log"
  ip netns exec "$(ns pub)" env "$@" "$repo/target/debug/webrtc-mesh-signaling" >"$log" 2>&1 &
  pids+=($!)
  wait_for "$log" "listening on" 10 || {
    echo "netlab: the $name signaling server did not start:" >&2
    cat "$log" >&2
    return 1
  }
  launched_url=$(sed -n 's/^listening on //p' "$log" | head -n 1)
}

# Starts the signaling server in the public namespace on 198.18.0.1 and sets signaling_url.
start_signaling() {
  launch_signaling main WEBRTC_MESH_HOST="$server_ip" WEBRTC_MESH_PORT=9080 || return 1
  signaling_url=$launched_url
}

# Starts a signaling server in the public namespace on [fd00:6::1]:9082 (the IPv6 segment's, so
# the IPv6-only peers reach it) and sets ipv6_signaling_url.
start_signaling_ipv6() {
  launch_signaling ipv6 WEBRTC_MESH_HOST="$server_ip6" WEBRTC_MESH_PORT=9082 || return 1
  # The address written in full: Godot 4.6.3's WebSocketPeer connects to another address than a
  # compressed IPv6 literal names (ws://[fd00:6::1]:9082 -> fd00:6:1::1, ws://[fd00::6:1] ->
  # fd00:6::6:1), and to the right one written in full.
  ipv6_signaling_url="ws://[$server_ip6_full]:9082"
}

# Kills (SIGKILL) every process still inside namespace $1; they can only be the lab's own.
kill_inside() {
  local pid
  for pid in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
}

# Removes namespaces of this script left by earlier runs whose process is gone (wm-<pid>-<node>
# with a node name of this lab), after killing what still runs inside them. Called before this
# run creates any namespace.
remove_stale_namespaces() {
  local name pid
  while read -r name _; do
    [[ $name =~ ^wm-([0-9]+)-($lab_nodes)$ ]] || continue
    pid=${BASH_REMATCH[1]}
    # This run has created nothing yet: a name with its own pid is from a run whose pid was reused.
    if [[ $pid != "$$" ]] && kill -0 "$pid" 2>/dev/null &&
      grep -qa netlab "/proc/$pid/cmdline" 2>/dev/null; then
      continue
    fi
    echo "netlab: removing namespace $name left by an earlier run"
    kill_inside "$name"
    ip netns del "$name" 2>/dev/null || true
    rm -rf "/etc/netns/$name"
  done < <(ip netns list 2>/dev/null)
}

# Stops every process this run started (SIGTERM, then SIGKILL after 3 s), kills whatever is left
# inside the lab's namespaces and removes them. Safe to call more than once.
teardown_lab() {
  local pid ns deadline=$((SECONDS + 3))
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [[ $SECONDS -lt $deadline ]]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
  for ns in "${namespaces[@]}"; do
    kill_inside "$ns"
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  namespaces=()
}
