# shellcheck shell=bash disable=SC2317
# (SC2317: the check_* functions are called through `check`, which shellcheck cannot follow.)
# Debian's own Linux kernel as a PVH DomU (issue 9): the bzImage exactly as packaged (cached by
# scripts/debian-kernel, which `scripts/install-deps test` runs) with the busybox initramfs that
# scripts/mk-linux-initramfs builds.  A boot takes minutes on a PVM host (guest ring 0 is emulated),
# so one boot serves every check, in order, plus the reboot near the end:
#   console (a command typed through xl console answers, on hvc0), netfront on a bridge and on a
#   routed vif (ping both ways), blkfront (ext4 made in Dom0 and mounted, a file each way, busybox's
#   mke2fs on a second disk), xl sysrq, xl dmesg (early console_io lines once), xl reboot (boot #2
#   finds boot #1's files), xl shutdown (through Linux's own xenbus control handler), and Dom0
#   reading the guest's files from the images afterwards.
# The guest's shell is driven through `xl console` by linux_console.py.  Before any of that, the
# initramfs is built and checked, and booted under QEMU's software emulation where QEMU exists, so a
# broken initramfs is told apart from a broken VMM.
# Timeouts: XENITH_LINUX_BOOT_TIMEOUT (s, per boot, default 600), XENITH_LINUX_CMD_TIMEOUT (s, per
# console command or shutdown, default 120), XENITH_LINUX_QEMU_TIMEOUT (s, default 240).
# shellcheck source=tests/system/testlib.bash
. "$(dirname "$0")/testlib.bash"

BOOT_TIMEOUT=${XENITH_LINUX_BOOT_TIMEOUT:-600}
CMD_TIMEOUT=${XENITH_LINUX_CMD_TIMEOUT:-120}
QEMU_TIMEOUT=${XENITH_LINUX_QEMU_TIMEOUT:-240}
CONSOLE="$ROOT/tests/system/linux_console.py"
NAME=debian
STATE="$WORK/state"          # what one check leaves for the next (checks run in subshells)
mkdir -p "$STATE"

# ---- the checks' frame: ok / not ok / skip, each check in a subshell under set -e -----------------
SKIP_REST=""                 # once set, the checks that need the guest skip with this reason

# check NAME FUNCTION [needs-guest]: runs FUNCTION and reports it; returns 0 (ok), 1 (not ok) or
# 2 (skipped).  Never call it in a condition (if, ||, &&): bash would then ignore the set -e that
# makes a check's first failing step end it.
check() {
	local name=linux-$1 fn=$2
	if [ "${3:-}" = needs-guest ] && [ -n "$SKIP_REST" ]; then
		echo "skip - $name: $SKIP_REST"
		return 2
	fi
	rm -f "$WORK/.why" "$WORK/.skip"
	(set -e -o pipefail; $fn)
	local rc=$?
	if [ -e "$WORK/.skip" ]; then
		echo "skip - $name: $(cat "$WORK/.skip")"
		return 2
	elif [ $rc -eq 0 ] && check_sanitizers; then
		echo "ok - $name"
		return 0
	fi
	echo "not ok - $name: $(cat "$WORK/.why" 2>/dev/null || echo "exited non-zero")"
	return 1
}

skip() {
	echo "$*" >"$WORK/.skip"
	return 1
}

# guest CMD [TIMEOUT]: CMD typed at the guest's shell through `xl console`; its output on stdout.
# Fails, saying what the shell printed, when CMD exits non-zero or does not finish in time.
guest() {
	local rc=0
	python3 "$CONSOLE" --timeout "${2:-$CMD_TIMEOUT}" --log "$WORK/console-sessions.log" \
		--cmd "$1" -- "$XL" console "$NAME" >"$WORK/console.out" 2>"$WORK/console.err" || rc=$?
	cat "$WORK/console.out"
	[ "$rc" -eq 0 ] || fail "'$1' at the guest's shell: exit $rc: $(tail -c 300 "$WORK/console.out" | tr '\n' '|') $(tr '\n' ' ' <"$WORK/console.err")"
}

console_log() { guest_log "$NAME"; }
console_tail() { tail -c "${1:-600}" "$(console_log)" 2>/dev/null | tr -d '\r' | tr '\n' '|'; }
vmm_tail() { tail -n 5 "$(vmm_log "$NAME")" 2>/dev/null | tr '\n' '|'; }

# ---- what the checks boot -------------------------------------------------------------------------
KDIR=$("$ROOT/scripts/debian-kernel" --cached 2>/dev/null || true)
BZIMAGE=""
for f in "$KDIR"/boot/vmlinuz-*; do [ -n "$KDIR" ] && [ -f "$f" ] && BZIMAGE=$f && break; done
KVER=${BZIMAGE##*/vmlinuz-}
INITRAMFS="$WORK/initramfs.cpio"
NO_KERNEL="Debian's kernel package is not cached (scripts/install-deps test fetches it with scripts/debian-kernel)"

check_initramfs() {
	[ -n "$BZIMAGE" ] || skip "$NO_KERNEL"
	command -v busybox >/dev/null || skip "busybox is missing (busybox-static; scripts/install-deps test)"
	command -v cpio >/dev/null || skip "cpio is missing (scripts/install-deps test)"
	"$ROOT/scripts/mk-linux-initramfs" -k "$KDIR" "$INITRAMFS" >/dev/null 2>"$WORK/mk.err" ||
		fail "mk-linux-initramfs: $(tr '\n' ' ' <"$WORK/mk.err")"
	local x="$WORK/initramfs.x" mdir="$KDIR/lib/modules/$KVER/kernel" f
	mkdir -p "$x"
	(cd "$x" && cpio -id --quiet) <"$INITRAMFS" || fail "cpio cannot unpack $INITRAMFS"
	for f in init bin/busybox sbin/poweroff sbin/reboot etc/profile etc/modules.xen; do
		[ -e "$x/$f" ] || fail "the initramfs has no /$f"
	done
	[ -x "$x/init" ] || fail "/init is not executable"
	for f in xen-netfront.ko xen-blkfront.ko; do
		grep -qx "$f" "$x/etc/modules.xen" || fail "etc/modules.xen lists: $(tr '\n' ' ' <"$x/etc/modules.xen")"
	done
	# The modules are the package's own files, unchanged.
	cmp -s "$x/lib/modules/xen-netfront.ko" "$mdir/drivers/net/xen-netfront.ko" ||
		fail "xen-netfront.ko differs from the package's"
	cmp -s "$x/lib/modules/xen-blkfront.ko" "$mdir/drivers/block/xen-blkfront.ko" ||
		fail "xen-blkfront.ko differs from the package's"
	cmp -s "$x/lib/modules/ext4.ko" "$mdir/fs/ext4/ext4.ko" || fail "ext4.ko differs from the package's"
	# ext4's dependencies come before it in the load order.
	local order; order=$(tr '\n' ' ' <"$x/etc/modules.fs")
	case $order in *jbd2.ko*ext4.ko*) ;; *) fail "etc/modules.fs does not load jbd2 before ext4: $order" ;; esac
	echo "# initramfs: $(stat -c %s "$INITRAMFS") bytes, kernel $KVER"
}

# Under QEMU (software emulation, console ttyS0): the same kernel and initramfs reach the shell,
# answer through linux_console.py, and power off through the initramfs' own /sbin/poweroff.
check_initramfs_qemu() {
	[ -s "$INITRAMFS" ] || skip "no initramfs (linux-initramfs did not build one)"
	command -v qemu-system-x86_64 >/dev/null ||
		skip "qemu-system-x86_64 is missing (scripts/install-deps bench installs it)"
	local out="$WORK/qemu.out" t0=$SECONDS
	timeout $((QEMU_TIMEOUT + 30)) python3 "$CONSOLE" --timeout "$QEMU_TIMEOUT" --log "$WORK/qemu.log" \
		--detach '\x01x' --wait 'xenith-init: shell ready on /dev/ttyS0' \
		--cmd 'uname -r' --cmd 'cat /proc/cmdline' --send 'poweroff\r' --wait 'reboot: Power down' -- \
		qemu-system-x86_64 -accel tcg -m 256 -nodefaults -nographic -serial mon:stdio -no-reboot \
		-kernel "$BZIMAGE" -initrd "$INITRAMFS" -append "console=ttyS0 xenith.qemu=$$" \
		>"$out" 2>"$WORK/qemu.err" ||
		fail "QEMU boot (exit $?): $(tr '\n' ' ' <"$WORK/qemu.err")"
	grep -qx "$KVER" "$out" || fail "uname -r under QEMU said: $(head -3 "$out" | tr '\n' ' ')"
	grep -q "xenith.qemu=$$" "$out" || fail "/proc/cmdline under QEMU: $(tr '\n' ' ' <"$out")"
	echo "# QEMU (tcg) booted, answered and powered off in $((SECONDS - t0)) s"
}

# ---- the Xenith domain ----------------------------------------------------------------------------
# Dom0's side: a namespace with xenbr0 at 10.0.0.1/24 (vif 0 bridged) and 10.0.2.1 on lo, the
# address the routed vif 1 (vif-route, guest 10.0.1.2) reaches Dom0 at.  Disks: xvda is ext4 made
# here holding dom0.txt; xvdb is blank, for the guest's own mke2fs.
setup_domain() {
	ip netns add "$NETNS" || fail "cannot make network namespace $NETNS"
	in_ns ip link set lo up
	in_ns ip addr add 10.0.2.1/32 dev lo
	in_ns ip link add xenbr0 type bridge
	in_ns ip addr add 10.0.0.1/24 dev xenbr0
	in_ns ip link set xenbr0 up
	echo "dom0-wrote-$$-$RANDOM" >"$STATE/dom0-token"
	mkdir -p "$WORK/fs"
	cp "$STATE/dom0-token" "$WORK/fs/dom0.txt"
	rm -f "$WORK/xvda.img" "$WORK/xvdb.img"
	truncate -s 16M "$WORK/xvda.img"
	truncate -s 8M "$WORK/xvdb.img"
	mkfs.ext4 -F -q -L xenith -d "$WORK/fs" "$WORK/xvda.img" >"$WORK/mkfs.out" 2>&1 ||
		fail "mkfs.ext4: $(cat "$WORK/mkfs.out")"
	cat >"$WORK/$NAME.cfg" <<EOF
name = "$NAME"
type = "pvh"
kernel = "$BZIMAGE"
ramdisk = "$INITRAMFS"
memory = 256
vcpus = 1
cmdline = "console=hvc0 earlyprintk=xen xenith.ip=vif-0:10.0.0.2/24,vif-1:10.0.1.2/32 xenith.route=vif-1:10.0.2.1"
vif = [ 'bridge=xenbr0', 'script=vif-route,ip=10.0.1.2' ]
disk = [ '$WORK/xvda.img,raw,xvda,rw', '$WORK/xvdb.img,raw,xvdb,rw' ]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
EOF
}

ready_count() {
	local n; n=$(grep -ac 'xenith-init: shell ready on' "$(console_log)" 2>/dev/null)
	echo "${n:-0}"
}

# wait_ready N: until the console shows the shell's ready line for the Nth time; fails early if the
# domain stays away (a restart under a new domid may hide it from xl list for a moment).
wait_ready() {
	local deadline=$((SECONDS + BOOT_TIMEOUT)) gone=0
	while [ "$(ready_count)" -lt "$1" ]; do
		if domain_listed "$NAME"; then gone=0; else gone=$((gone + 1)); fi
		((gone < 10)) || fail "the domain ended while booting; console: $(console_tail) vmm: $(vmm_tail)"
		((SECONDS < deadline)) ||
			fail "no shell after ${BOOT_TIMEOUT} s (XENITH_LINUX_BOOT_TIMEOUT); console: $(console_tail) vmm: $(vmm_tail)"
		sleep 0.5
	done
}

check_boot() {
	[ -s "$INITRAMFS" ] || fail "no initramfs (linux-initramfs did not build one)"
	setup_domain
	local t0=$SECONDS
	xl_ns create "$WORK/$NAME.cfg" >"$WORK/create.out" 2>&1 || fail "xl create: $(tr '\n' ' ' <"$WORK/create.out")"
	domain_id "$NAME" >"$STATE/domid" || fail "no domid for $NAME after xl create"
	wait_ready 1
	echo "# boot #1: shell after $((SECONDS - t0)) s"
	grep -a 'xenith-init: up:' "$(console_log)" | tr -d '\r' | sed 's/^/# /'
}

check_console() {
	local out
	out=$(guest 'uname -r')
	[ "$out" = "$KVER" ] || fail "uname -r answered '$out', not $KVER"
	out=$(guest 'tty; cat /sys/hypervisor/type')
	[ "$out" = "/dev/hvc0
xen" ] || fail "tty and hypervisor type: '$(echo "$out" | tr '\n' ' ')', not /dev/hvc0 and xen"
}

check_net_bridge() {
	local id out; id=$(cat "$STATE/domid")
	[ "$(in_ns ip -o link show "vif$id.0" | grep -o 'master [^ ]*')" = "master xenbr0" ] ||
		fail "vif$id.0 is not on xenbr0: $(in_ns ip -o link show "vif$id.0" 2>&1)"
	# The address /init gave vif 0's netfront interface, from the kernel command line (the $(...)
	# is the guest shell's).
	# shellcheck disable=SC2016
	out=$(guest 'grep -o "^xen_netfront " /proc/modules; ip -o -4 addr show dev "$(ls /sys/bus/xen/devices/vif-0/net)"')
	if ! grep -q '^xen_netfront' <<<"$out" || ! grep -q 'inet 10.0.0.2/24' <<<"$out"; then
		fail "the guest's module and vif-0 interface: $(tr '\n' ' ' <<<"$out")"
	fi
	in_ns ping -c 3 -W 5 10.0.0.2 >"$WORK/ping" 2>&1 || fail "Dom0 -> guest ping 10.0.0.2: $(tail -2 "$WORK/ping" | tr '\n' ' ')"
	out=$(guest 'ping -c 3 -W 5 10.0.0.1')
	grep -q '3 packets received' <<<"$out" || fail "guest -> Dom0 ping: $(tail -2 <<<"$out" | tr '\n' ' ')"
}

check_net_routed() {
	local id out; id=$(cat "$STATE/domid")
	local routes; routes=$(in_ns ip route show) || fail "ip route show failed"
	grep -q "10.0.1.2 dev vif$id.1" <<<"$routes" || fail "no route 10.0.1.2 dev vif$id.1: $(tr '\n' ' ' <<<"$routes")"
	in_ns ping -c 3 -W 5 -I 10.0.2.1 10.0.1.2 >"$WORK/ping" 2>&1 ||
		fail "Dom0 (10.0.2.1) -> guest 10.0.1.2 over the routed vif: $(tail -2 "$WORK/ping" | tr '\n' ' ')"
	out=$(guest 'ping -c 3 -W 5 10.0.2.1')
	grep -q '3 packets received' <<<"$out" || fail "guest -> Dom0 routed ping: $(tail -2 <<<"$out" | tr '\n' ' ')"
}

check_disk_ext4() {
	local out token; token="guest-wrote-$$-$RANDOM"
	echo "$token" >"$STATE/guest-token"
	out=$(guest 'cat /sys/block/xvda/size /sys/block/xvdb/size')
	[ "$out" = "32768
16384" ] || fail "xvda and xvdb sizes (sectors): '$(echo "$out" | tr '\n' ' ')', not 32768 16384"
	out=$(guest 'mount -t ext4 /dev/xvda /mnt && cat /mnt/dom0.txt')
	[ "$out" = "$(cat "$STATE/dom0-token")" ] || fail "the guest read dom0.txt as '$out'"
	guest "echo $token >/mnt/guest.txt && sync" >/dev/null
	# busybox's mke2fs makes the ext2 the ext4 driver mounts.
	out=$(guest "mke2fs -q /dev/xvdb && mkdir -p /b && mount -t ext4 /dev/xvdb /b && echo $token >/b/mke2fs.txt && sync && cat /b/mke2fs.txt")
	[ "$(echo "$out" | tail -1)" = "$token" ] || fail "mke2fs and mount of xvdb: $(echo "$out" | tr '\n' ' ')"
}

check_sysrq() {
	local before; before=$(grep -ac 'sysrq: HELP : ' "$(console_log)" || true)
	xl_ns sysrq "$NAME" h 2>"$WORK/err" || fail "xl sysrq: $(cat "$WORK/err")"
	wait_for "$CMD_TIMEOUT" log_count_at_least "$NAME" 'sysrq: HELP : ' $((before + 1)) ||
		fail "no 'sysrq: HELP :' in the console after xl sysrq h; console: $(console_tail 300)"
}

check_dmesg_once() {
	local id; id=$(cat "$STATE/domid")
	"$XL" dmesg >"$WORK/dmesg" 2>&1 || fail "xl dmesg: $(head -3 "$WORK/dmesg" | tr '\n' ' ')"
	grep -a "^(d$id) " "$WORK/dmesg" >"$WORK/dmesg.d" || fail "xl dmesg has no (d$id) lines: $(head -3 "$WORK/dmesg" | tr '\n' ' ')"
	[ "$(grep -c 'Linux version' "$WORK/dmesg.d")" = 1 ] ||
		fail "'Linux version' appears $(grep -c 'Linux version' "$WORK/dmesg.d") times among xl dmesg's (d$id) lines"
	# Each kernel message carries its own timestamp, so one shown twice is a line written twice.
	grep -aE '^\(d[0-9]+\) \[ *[0-9]+\.[0-9]{6}\]' "$WORK/dmesg.d" | sort | uniq -d >"$WORK/dmesg.dup" || true
	[ ! -s "$WORK/dmesg.dup" ] || fail "xl dmesg repeats lines: $(head -2 "$WORK/dmesg.dup" | tr '\n' ' ')"
	# console_io belongs to the hypervisor log only, not also to the domain's console.
	no_match "$(console_log)" -a "^(d$id) " || fail "(d$id) lines in the domain's console log"
	[ "$(grep -ac 'Linux version' "$(console_log)" || true)" -le 1 ] || fail "'Linux version' twice in the console log"
	echo "# xl dmesg: $(wc -l <"$WORK/dmesg.d") (d$id) lines"
}

check_reboot() {
	local id1 id2 out t0=$SECONDS; id1=$(cat "$STATE/domid")
	XENITH_SHUTDOWN_TIMEOUT=$CMD_TIMEOUT xl_ns reboot "$NAME" >"$WORK/reboot.out" 2>&1 ||
		fail "xl reboot: $(tr '\n' ' ' <"$WORK/reboot.out")"
	# Linux's control handler runs /sbin/reboot, the initramfs' script, which says so.
	wait_for "$CMD_TIMEOUT" log_has "$NAME" 'xenith-init: reboot: syncing' ||
		fail "Linux did not run /sbin/reboot; console: $(console_tail)"
	wait_ready 2
	echo "# boot #2: shell $((SECONDS - t0)) s after xl reboot"
	id2=$(domain_id "$NAME") || fail "no domid after the reboot"
	[ "$id2" != "$id1" ] || fail "the rebooted domain kept domid $id1"
	echo "$id2" >"$STATE/domid"
	grep -q "shut down: reboot" "$(vmm_log "$NAME")" || fail "the VMM did not record a reboot"
	out=$(guest 'uname -r')
	[ "$out" = "$KVER" ] || fail "after the reboot uname -r answered '$out'"
	# Boot #1's files, written before the reboot, are there; boot #2 adds its own.
	out=$(guest 'mount -t ext4 /dev/xvda /mnt && mkdir -p /b && mount -t ext4 /dev/xvdb /b && cat /mnt/guest.txt /b/mke2fs.txt && echo boot2 >/mnt/boot2.txt && sync')
	[ "$out" = "$(cat "$STATE/guest-token")
$(cat "$STATE/guest-token")" ] || fail "boot #2 read back: '$(echo "$out" | tr '\n' ' ')'"
}

check_shutdown() {
	XENITH_SHUTDOWN_TIMEOUT=$CMD_TIMEOUT xl_ns shutdown "$NAME" >"$WORK/shutdown.out" 2>&1 ||
		fail "xl shutdown: $(tr '\n' ' ' <"$WORK/shutdown.out")"
	wait_for "$CMD_TIMEOUT" domain_gone "$NAME" || fail "still listed $CMD_TIMEOUT s after xl shutdown; console: $(console_tail)"
	log_has "$NAME" 'xenith-init: poweroff: syncing' || fail "Linux did not run /sbin/poweroff; console: $(console_tail)"
	grep -q "shut down: poweroff" "$(vmm_log "$NAME")" || fail "the VMM did not record a poweroff: $(vmm_tail)"
	wait_for 10 no_vmm_left || fail "the VMM is still running after the poweroff"
}

# Dom0 reads what the guest wrote, from the images (debugfs, e2fsprogs), and both file systems were
# left clean by the guest's unmount.
check_disk_after_shutdown() {
	local token out; token=$(cat "$STATE/guest-token")
	out=$(debugfs -R 'cat /guest.txt' "$WORK/xvda.img" 2>/dev/null)
	[ "$out" = "$token" ] || fail "debugfs reads xvda:/guest.txt as '$out', not $token"
	out=$(debugfs -R 'cat /boot2.txt' "$WORK/xvda.img" 2>/dev/null)
	[ "$out" = boot2 ] || fail "debugfs reads xvda:/boot2.txt as '$out'"
	out=$(debugfs -R 'cat /mke2fs.txt' "$WORK/xvdb.img" 2>/dev/null)
	[ "$out" = "$token" ] || fail "debugfs reads xvdb:/mke2fs.txt (busybox mke2fs) as '$out'"
	e2fsck -fn "$WORK/xvda.img" >"$WORK/fsck" 2>&1 || fail "e2fsck -fn xvda: $(tail -3 "$WORK/fsck" | tr '\n' ' ')"
	e2fsck -fn "$WORK/xvdb.img" >"$WORK/fsck" 2>&1 || fail "e2fsck -fn xvdb: $(tail -3 "$WORK/fsck" | tr '\n' ' ')"
}

# ---- the run ----------------------------------------------------------------------------------------
status=0
check initramfs check_initramfs
[ $? != 1 ] || status=1
check initramfs-qemu check_initramfs_qemu
[ $? != 1 ] || status=1
GUEST_CHECKS="boot console net-bridge net-routed disk-ext4 sysrq dmesg-once reboot shutdown disk-after-shutdown"
if ! have_kvm; then
	SKIP_REST="no usable /dev/kvm (needs KVM and root)"
elif [ -z "$BZIMAGE" ]; then
	SKIP_REST=$NO_KERNEL
elif [ ! -s "$INITRAMFS" ]; then
	SKIP_REST="no initramfs (see linux-initramfs)"
fi
# Checks run in subshells: the namespace's name is set here, so that every check and the cleanup
# know it; linux-boot makes it.
[ -n "$SKIP_REST" ] || NETNS="xlx$$"
for c in $GUEST_CHECKS; do
	check "$c" "check_${c//-/_}" needs-guest
	[ $? = 1 ] || continue
	status=1
	case $c in
	boot) SKIP_REST="the guest did not boot (see linux-boot)" ;;
	reboot) SKIP_REST="the guest did not come back from xl reboot (see linux-reboot)" ;;
	esac
done
drop_netns
exit $status
