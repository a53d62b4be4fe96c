#!/bin/bash
# Two Dom0s on one machine, for live migration between them (docs/migration.md):
#   two-dom0.sh up     network namespaces A and B, each with its own run directory
#                      (XENITH_RUNDIR=$BASE/A, $BASE/B: own xenstored, own domains), its own bridge
#                      xenbr0 (10.77.0.1/24 in A, 10.77.0.2/24 in B) and a veth pair joining them
#   two-dom0.sh down   removes both namespaces (destroy their domains first)
# A, B and BASE are xenith-a, xenith-b and /run unless TWO_DOM0_A, TWO_DOM0_B, TWO_DOM0_BASE say
# otherwise.  Then, with ns-ssh (beside this script) as the SSHCOMMAND:
#   ip netns exec xenith-a env XENITH_RUNDIR=/run/xenith-a xl migrate -s ns-ssh DOMAIN xenith-b
set -eu
A=${TWO_DOM0_A:-xenith-a}
B=${TWO_DOM0_B:-xenith-b}
BASE=${TWO_DOM0_BASE:-/run}

up() {
	local ns addr
	for ns in "$A" "$B"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip -n "$ns" link add xenbr0 type bridge
		mkdir -p "$BASE/$ns"
	done
	# The veth ends are named after the other host; each joins its namespace's bridge.
	ip link add "veth-$A" netns "$B" type veth peer name "veth-$B" netns "$A"
	for ns in "$A" "$B"; do
		[ "$ns" = "$A" ] && addr=10.77.0.1/24 || addr=10.77.0.2/24
		ip -n "$ns" addr add "$addr" dev xenbr0
		ip -n "$ns" link set xenbr0 up
	done
	ip -n "$A" link set "veth-$B" master xenbr0 up
	ip -n "$B" link set "veth-$A" master xenbr0 up
}

down() {
	local ns
	for ns in "$A" "$B"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

case ${1:-} in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
