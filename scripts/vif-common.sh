# Shared by vif-bridge and vif-route (sourced).  The VMM runs `SCRIPT online|offline` with Xen's
# environment (docs/netif.md): vif, command, bridge, ip, mac, netdev, gatewayip, XENBUS_PATH ...
# POSIX sh.

me=$(basename "$0")
command=${1:-${command:-}}

fatal() {
	echo "$me: $*" >&2
	exit 1
}

[ -n "${vif:-}" ] || fatal "no vif in the environment (run by xenith-vmm)"
case "$command" in
online|offline|add|remove) ;;
*) fatal "usage: $me online|offline (got '$command')" ;;
esac
# Xen's udev names for the same actions.
[ "$command" = add ] && command=online
[ "$command" = remove ] && command=offline

dev_exists() {
	[ -e "/sys/class/net/$1" ]
}
