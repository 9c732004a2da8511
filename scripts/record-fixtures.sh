#!/usr/bin/env bash
# Records the real-packet fixtures of the packet decoder's tests (test/fixtures/pcap/*.pcap).
#
# Two network namespaces joined by a veth pair: "scanner" (10.77.0.1, 2001:db8:77::1) and
# "target" (10.77.0.2, 2001:db8:77::2). Each fixture is one tcpdump run in the target namespace
# while nmap or hping3 runs in the scanner namespace. Nothing is created in or sent from the host's
# own namespace. Every port probed is closed, so the target answers with RSTs and ICMP
# port-unreachables, which the captures keep.
#
# VLAN tags: the kernel this was written on has neither CONFIG_VLAN_8021Q (no VLAN sub-interfaces)
# nor the tc vlan action, so the tagged fixtures come from a relay, which works on any kernel: nmap
# sends through a TAP device in the scanner namespace, a small Python loop reads each frame from
# it, inserts the tags (802.1Q 7, or 802.1ad 100 outside 802.1Q 7) and sends it out of the
# scanner's eth0 through an AF_PACKET socket. tcpdump on the target's eth0 then sees the tags
# exactly as on a trunk port (the kernel moves the outer tag to the skb, libpcap puts it back).
# The target cannot answer those probes, so the VLAN captures hold the probes only.
#
# Re-runnable: the namespaces get unique names, the output files are replaced, and an EXIT trap
# kills tcpdump and the relay (by pid) and deletes the namespaces whatever happens. Sequence
# numbers, timestamps and connect-scan source ports differ between runs; the tests do not rely on
# them. Needs root, iproute2, tcpdump, nmap, hping3 and python3.
#
#   sudo scripts/record-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=test/fixtures/pcap
PORTS=143,7777
SPORT=40123 # source port of the raw-socket scans (nmap -g, hping3 -s -k)

[[ $EUID -eq 0 ]] || { echo "record-fixtures: must run as root" >&2; exit 1; }
for tool in ip tcpdump nmap hping3 python3; do
  command -v "$tool" >/dev/null || { echo "record-fixtures: $tool not found" >&2; exit 1; }
done

ID="psnrec-$$-$RANDOM"
SCANNER="$ID-scanner"
TARGET="$ID-target"
WORK=$(mktemp -d)
TCPDUMP_PID=""
RELAY_PID=""

cleanup() {
  local pid
  for pid in $TCPDUMP_PID $RELAY_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  ip netns del "$SCANNER" 2>/dev/null || true
  ip netns del "$TARGET" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

in_scanner() { ip netns exec "$SCANNER" "$@"; }

setup() {
  ip netns add "$SCANNER"
  ip netns add "$TARGET"
  local ns n
  for ns in "$SCANNER" "$TARGET"; do # no router solicitations on the new interfaces
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0
  done
  ip -n "$SCANNER" link add name eth0 address 02:00:00:77:00:01 type veth \
    peer name eth0 address 02:00:00:77:00:02 netns "$TARGET"
  for ns in "$SCANNER" "$TARGET"; do
    n=$([[ $ns == "$SCANNER" ]] && echo 1 || echo 2)
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "10.77.0.$n/24" dev eth0
    ip -n "$ns" addr add "2001:db8:77::$n/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
  done
}

# The relay (see the header): argv is TAP-NAME OUT-INTERFACE TAGS, TAGS like "88a8:100,8100:7".
RELAY='
import fcntl, os, socket, struct, sys
tap, out_if, tags = sys.argv[1:4]
fd = os.open("/dev/net/tun", os.O_RDWR)
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
pairs = (tag.split(":") for tag in tags.split(","))
inserted = b"".join(struct.pack("!HH", int(tpid, 16), int(vid)) for tpid, vid in pairs)
out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
out.bind((out_if, 0))
print("ready", flush=True)
while True:
    frame = os.read(fd, 65536)
    out.send(frame[:12] + inserted + frame[12:])
'

# relay_start TAP TAGS NET: a TAP device in the scanner namespace with 10.77.NET.1/24 and
# 2001:db8:77:NET::1/64 whose frames leave eth0 tagged; .2 / ::2 are static neighbours.
relay_start() {
  local tap=$1 tags=$2 net=$3 log="$WORK/relay-$1.log" i
  ip netns exec "$SCANNER" python3 -c "$RELAY" "$tap" eth0 "$tags" >"$log" 2>&1 &
  RELAY_PID=$!
  for i in $(seq 50); do
    grep -q ready "$log" && break
    sleep 0.1
  done
  if ! grep -q ready "$log"; then
    cat "$log" >&2
    echo "record-fixtures: relay did not start" >&2
    exit 1
  fi
  ip -n "$SCANNER" link set "$tap" address 02:00:00:77:01:01 up
  ip -n "$SCANNER" addr add "10.77.$net.1/24" dev "$tap"
  ip -n "$SCANNER" addr add "2001:db8:77:$net::1/64" dev "$tap" nodad
  ip -n "$SCANNER" neigh add "10.77.$net.2" lladdr 02:00:00:77:00:02 dev "$tap" nud permanent
  ip -n "$SCANNER" neigh add "2001:db8:77:$net::2" lladdr 02:00:00:77:00:02 dev "$tap" nud permanent
}

relay_stop() {
  kill "$RELAY_PID"
  wait "$RELAY_PID" 2>/dev/null || true
  RELAY_PID=""
}

# capture NAME IFACE LINKTYPE FILTER COMMANDS: runs the shell COMMANDS in the scanner namespace
# while tcpdump captures what FILTER passes on IFACE in the target namespace (LINKTYPE "" keeps the
# interface's own link type).
capture() {
  local name=$1 iface=$2 linktype=$3 filter=$4 commands=$5
  local tmp="$WORK/$name.pcap" log="$WORK/$name.log"
  # Started through ip(8) directly, not a shell function, so that $! is tcpdump's own pid.
  # --immediate-mode: otherwise packets still in the capture ring when tcpdump stops are lost.
  ip netns exec "$TARGET" tcpdump -Z root -n -U --immediate-mode -i "$iface" \
    ${linktype:+-y "$linktype"} -w "$tmp" "$filter" 2>"$log" &
  TCPDUMP_PID=$!
  local i
  for i in $(seq 50); do
    grep -q 'listening on' "$log" && break
    sleep 0.1
  done
  if ! grep -q 'listening on' "$log"; then
    cat "$log" >&2
    echo "record-fixtures: tcpdump did not start" >&2
    exit 1
  fi
  in_scanner bash -c "set -e; $commands" >/dev/null
  sleep 1
  kill -INT "$TCPDUMP_PID"
  wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=""
  mv "$tmp" "$OUT/$name.pcap"
  echo "$OUT/$name.pcap: $(tcpdump -r "$OUT/$name.pcap" 2>/dev/null | wc -l) packets"
}

IP_ONLY="tcp or udp or icmp or icmp6"
NMAP="nmap -n -Pn --max-retries 0 -p $PORTS"
RAW="-g $SPORT"

setup
mkdir -p "$OUT"
for scan in sS sF sN sX sU sT sA; do
  sport=$RAW
  [[ $scan == sT ]] && sport='' # connect scans use the kernel's ephemeral ports
  capture "ipv4-nmap-$scan" eth0 '' "$IP_ONLY" "$NMAP -$scan $sport 10.77.0.2"
  capture "ipv6-nmap-$scan" eth0 '' "$IP_ONLY" "$NMAP -6 -$scan $sport 2001:db8:77::2"
done
capture ipv4-nmap-ip-options eth0 '' "$IP_ONLY" "$NMAP -sS $RAW --ip-options R 10.77.0.2"
capture ipv4-hping3-syn-fin eth0 '' "$IP_ONLY" \
  "hping3 -q -c 1 -S -F -s $SPORT -k -p 143 10.77.0.2 2>/dev/null" # fails if unanswered
for linktype in LINUX_SLL2 LINUX_SLL; do
  name=any-$(tr 'A-Z_' 'a-z-' <<<"$linktype")
  capture "$name" any "$linktype" "$IP_ONLY" \
    "$NMAP -sS $RAW 10.77.0.2; $NMAP -6 -sS $RAW 2001:db8:77::2"
done
SEND_IP="$NMAP -sS $RAW --send-ip"
relay_start vtap7 8100:7 7
capture vlan-8021q eth0 '' vlan "$SEND_IP 10.77.7.2; $SEND_IP -6 2001:db8:77:7::2"
relay_stop
relay_start vtap107 88a8:100,8100:7 107
capture vlan-qinq eth0 '' vlan "$SEND_IP 10.77.107.2; $SEND_IP -6 2001:db8:77:107::2"
relay_stop
