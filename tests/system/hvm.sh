# HVM domains booted the PC way, by firmware and a boot loader nobody here wrote: SeaBIOS, then GRUB
# (Debian's grub-pc-bin) from an ISO on an ATAPI CD-ROM (boot = "d", grub-mkrescue) or from a raw
# disk with GRUB in its MBR (boot = "c", grub-mkimage's core.img after boot.img, as grub-install
# lays them out, built without root or loop devices).  GRUB's menu shows on the serial console
# (serial = "pty"), a key typed there picks the second entry, and GRUB loads the test guest by
# Multiboot2 (guest/README.md): the guest finds the Xen platform device by PCI scan, unplugs the
# emulated disks and NICs, and runs its PV tests through it.  Needs /dev/kvm, SeaBIOS and GRUB's
# tools (scripts/install-deps test); skips without them.  One test runs without KVM: the same images
# on QEMU (TCG), where SeaBIOS and GRUB load the guest, which reaches long mode and says on COM1 that
# it found no Xen.
NEEDS_KVM=0
. "$(dirname "$0")/testlib.bash"

CONSOLE="$ROOT/tests/system/linux_console.py"
CTL="$BUILD/bin/xenith-ctl"
[ -x "$CTL" ] || CTL="$ROOT/bin/xenith-ctl"
export XENSTORED_PATH="$XENITH_RUNDIR/xenstored/socket"
GRUB_PC=/usr/lib/grub/i386-pc
SEABIOS=/usr/share/seabios/bios-256k.bin
DEPS="scripts/install-deps test"
# GRUB waits this long on its menu; the test's key comes well before.
MENU_TIMEOUT=30

need_grub_tools() {
	[ -e "$GUEST" ] || skip "no test guest at $GUEST (make guest)"
	[ -r "$SEABIOS" ] || skip "no SeaBIOS at $SEABIOS (seabios; $DEPS)"
	need grub-mkrescue "grub-common; $DEPS"
	need grub-mkimage "grub-common; $DEPS"
	need grub-file "grub-common; $DEPS"
	need xorriso "xorriso; $DEPS"
	need mformat "mtools; $DEPS"
	need mcopy "mtools; $DEPS"
	need python3
	[ -r "$GRUB_PC/boot.img" ] && [ -r "$GRUB_PC/moddep.lst" ] || skip "no GRUB for BIOS PCs in $GRUB_PC (grub-pc-bin; $DEPS)"
	# What GRUB itself says of the image: the Multiboot2 header is there and valid.
	grub-file --is-x86-multiboot2 "$GUEST" || fail "grub-file: $GUEST is not a Multiboot2 kernel"
}

need_hvm_tools() {
	need_kvm
	need_grub_tools
}

# write_grub_cfg FILE TEST: the serial console, a menu of two entries; the first (the default, if
# no key came) runs hello, the second TEST.  menu= tells in the guest's log which one ran.
write_grub_cfg() {
	cat >"$1" <<EOF
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=$MENU_TIMEOUT
set default=0
menuentry "xenith test guest: hello (default)" {
	multiboot2 /boot/xenith-guest.elf test=hello menu=first
	boot
}
menuentry "xenith test guest: $2" {
	multiboot2 /boot/xenith-guest.elf test=$2 menu=second
	boot
}
EOF
}

# make_iso TEST: an El Torito ISO for BIOS PCs with GRUB, grub.cfg and the guest; its path.
make_iso() {
	local iso="$WORK/grub-$1.iso" tree="$WORK/iso-$1"
	if [ ! -s "$iso" ]; then
		mkdir -p "$tree/boot/grub"
		cp "$GUEST" "$tree/boot/xenith-guest.elf"
		write_grub_cfg "$tree/boot/grub/grub.cfg" "$1"
		grub-mkrescue --directory="$GRUB_PC" -o "$iso" "$tree" >"$WORK/mkrescue-$1.log" 2>&1 ||
			{ fail "grub-mkrescue: $(tail -3 "$WORK/mkrescue-$1.log" | tr '\n' ' ')"; return 1; }
	fi
	echo "$iso"
}

# write_mbr_partition IMAGE START SECTORS: one active FAT16 (LBA) partition in the MBR's table,
# leaving boot.img's code (the first 440 bytes) as it is.
write_mbr_partition() {
	python3 - "$@" <<'PY'
import struct, sys
path, start, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(446)
    # status 0x80 (active), CHS fields saying "use LBA", type 0x0e (FAT16 LBA), LBA start and length.
    f.write(struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0e, b"\xfe\xff\xff", start, count))
    f.write(bytes(48))
    f.write(b"\x55\xaa")
PY
}

# make_disk TEST: a raw disk with GRUB in its MBR and first track and a FAT partition at 1 MiB
# holding grub.cfg, GRUB's modules and the guest; its path.  Laid out as grub-install does for a
# BIOS disk: boot.img's code in sector 0 (it loads sector 1), core.img from sector 1 (its first
# sector, diskboot, loads the rest from sector 2 on, the default grub-mkimage leaves in it).
make_disk() {
	local img="$WORK/grub-$1.img" dir="$WORK/disk-$1"
	local start=2048 part_mib=63
	local sectors=$((part_mib * 2048))
	[ -s "$img" ] && { echo "$img"; return 0; }
	mkdir -p "$dir"
	write_grub_cfg "$dir/grub.cfg" "$1"
	rm -f "$dir/part.img"
	truncate -s "${part_mib}M" "$dir/part.img"
	{
		mformat -i "$dir/part.img" -T "$sectors" -h 64 -s 32 -H "$start" -v XENITH :: &&
			mmd -i "$dir/part.img" ::/boot ::/boot/grub ::/boot/grub/i386-pc &&
			mcopy -i "$dir/part.img" "$GUEST" ::/boot/xenith-guest.elf &&
			mcopy -i "$dir/part.img" "$dir/grub.cfg" ::/boot/grub/grub.cfg &&
			mcopy -i "$dir/part.img" "$GRUB_PC"/*.mod "$GRUB_PC"/*.lst ::/boot/grub/i386-pc/
	} >"$dir/mtools.log" 2>&1 || { fail "building the FAT partition: $(tail -3 "$dir/mtools.log" | tr '\n' ' ')"; return 1; }
	grub-mkimage -O i386-pc -o "$dir/core.img" -p "(hd0,msdos1)/boot/grub" \
		biosdisk part_msdos fat normal multiboot2 serial terminal configfile >"$dir/mkimage.log" 2>&1 ||
		{ fail "grub-mkimage: $(tail -3 "$dir/mkimage.log" | tr '\n' ' ')"; return 1; }
	local core; core=$(stat -c %s "$dir/core.img")
	[ "$core" -le $(((start - 1) * 512)) ] || { fail "core.img is $core bytes: more than fits before the partition"; return 1; }
	truncate -s $(((start + sectors) * 512)) "$img.new"
	dd if="$GRUB_PC/boot.img" of="$img.new" bs=440 count=1 conv=notrunc status=none &&
		dd if="$dir/core.img" of="$img.new" bs=512 seek=1 conv=notrunc status=none &&
		write_mbr_partition "$img.new" "$start" "$sectors" &&
		dd if="$dir/part.img" of="$img.new" bs=512 seek="$start" conv=notrunc status=none ||
		{ fail "laying out $img"; return 1; }
	mv "$img.new" "$img"
	echo "$img"
}

# hvm_cfg NAME BOOT DISKSPEC: an HVM domain on COM1, booting from BOOT.
hvm_cfg() {
	cat >"$WORK/$1.cfg" <<EOF
name = "$1"
type = "hvm"
memory = 128
boot = "$2"
serial = "pty"
vif = [ ]
disk = [ '$3' ]
EOF
	echo "$WORK/$1.cfg"
}

# pick_second_entry NAME: on `xl console NAME` as a person would: wait for GRUB's menu, press
# Ctrl-N (GRUB's "next entry") and Enter, detach.  What follows is read from the console log: a
# guest that passes at once may power off before an attached console has read its lines.
pick_second_entry() {
	python3 "$CONSOLE" --timeout 60 --log "$WORK/$1.console" \
		--wait "executed automatically in" --send '\x0e' --send '\r' \
		-- "$XL" console "$1" >"$WORK/$1.pick" 2>&1 ||
		fail "console of $1: $(tail -c 600 "$WORK/$1.pick" | tr '\r\n' '  ')"
}

# boot_hvm NAME TEST iso|disk: the domain, GRUB's menu answered, the guest's HVM lines checked.
boot_hvm() {
	local name=$1 test=$2 media=$3 cfg image
	if [ "$media" = iso ]; then
		image=$(make_iso "$test")
		cfg=$(hvm_cfg "$name" d "$image,raw,hdc,cdrom")
	else
		image=$(make_disk "$test")
		cfg=$(hvm_cfg "$name" c "$image,raw,hda,w")
	fi
	"$XL" create "$cfg" 2>"$WORK/err" || fail "xl create $name failed: $(cat "$WORK/err")"
	expect_log "$name" "GNU GRUB" 60
	pick_second_entry "$name"
	expect_log "$name" "hvm: multiboot2 entry, memory map [1-9][0-9]* entries"
	expect_log "$name" "hvm: platform device at 00:[0-9a-f][0-9a-f]\.[0-7], unplugged emulated devices"
	log_has "$name" "menu=second" || fail "the guest did not run GRUB's second entry: $(grep -a 'cmdline:' "$(guest_log "$name")")"
	log_lacks "$name" "menu=first" || fail "GRUB ran its default entry: the key typed was not obeyed"
	grep -q "PV drivers unplugged emulated devices (mask 0x3)" "$(vmm_log "$name")" ||
		fail "the VMM did not record the unplug: $(grep -a 'PV drivers' "$(vmm_log "$name")")"
}

# expect_pass NAME TEST: PASS TEST, then the poweroff the VMM recorded.
expect_pass() {
	expect_log "$1" "PASS $2" "${3:-30}"
	wait_for 15 domain_gone "$1" || fail "$1 still listed after PASS $2"
	grep -q "shut down: poweroff" "$(vmm_log "$1")" || fail "the VMM did not record a poweroff of $1"
}

# qemu_pick_second_entry NAME ARGS...: QEMU (TCG) with the serial line on a pty, GRUB's menu
# answered as on xl console; QEMU is ended (Ctrl-A x) once the guest has said its whole line.
qemu_pick_second_entry() {
	local name=$1
	shift
	timeout 150 python3 "$CONSOLE" --timeout 90 --log "$WORK/$name.console" --detach '\x01x' \
		--wait "executed automatically in" --send '\x0e' --send '\r' \
		--wait "leaves., halting" -- qemu-system-x86_64 -nographic -no-reboot -m 128 "$@" \
		>"$WORK/$name.out" 2>&1 || fail "QEMU $name: $(tail -c 600 "$WORK/$name.out" | tr '\r\n' '  ')"
}

# Without KVM: QEMU's SeaBIOS and GRUB (both images) load the guest by Multiboot2; it enters at
# mb2_start32, switches to long mode and reports on COM1 that there is no Xen under it.
test_grub_loads_guest_on_qemu_tcg() {
	need_grub_tools
	need qemu-system-x86_64 "qemu-system-x86; $DEPS"
	local iso img
	iso=$(make_iso hello)
	img=$(make_disk hello)
	qemu_pick_second_entry qemu-cd -cdrom "$iso" -boot d
	qemu_pick_second_entry qemu-hd -drive "file=$img,format=raw,if=ide" -boot c
	local log
	for log in qemu-cd qemu-hd; do
		grep -qa "GNU GRUB" "$WORK/$log.console" || fail "$log: no GRUB menu on the serial line"
		grep -qa "Xenith test guest: Xen not found (no XenVMMXenVMM CPUID leaves), halting" "$WORK/$log.console" ||
			fail "$log: the guest did not report on COM1: $(tail -c 300 "$WORK/$log.console" | tr '\r\n' '  ')"
	done
}

test_iso_cdrom_grub_hello() {
	need_hvm_tools
	boot_hvm hvmcd hello iso
	expect_pass hvmcd hello
}

test_disk_mbr_grub_hello() {
	need_hvm_tools
	boot_hvm hvmhd hello disk
	expect_pass hvmhd hello
}

test_iso_evtchn() {
	need_hvm_tools
	boot_hvm hvmev evtchn iso
	expect_pass hvmev evtchn 60
	log_has hvmev "evtchn: loopback ok" || fail "no loopback line"
	log_has hvmev "timer: 20 ticks, mean period" || fail "no timer line: timer upcalls were lost"
	log_has hvmev "Dom0 answered" || fail "no round trip to Dom0"
}

test_iso_gnttab() {
	need_hvm_tools
	need_xenstore_utils
	[ -x "$CTL" ] || skip "no xenith-ctl at $CTL (make tools)"
	boot_hvm hvmgt gnttab iso
	expect_log hvmgt "gnttab: refs rw="
	local domid refs rw got
	domid=$(domain_id hvmgt)
	refs=$(grep -ao 'gnttab: refs .*' "$(guest_log hvmgt)" | tr -d '\r')
	rw=$(sed -n 's/.*rw=\([0-9]*\).*/\1/p' <<<"$refs")
	local base=/local/domain/$domid/data/gnttab
	got=$("$CTL" "$domid" grant-read "$rw" 15 2>&1) || fail "grant-read rw ref $rw: $got"
	[ "$got" = "xenith-grant-rw" ] || fail "grant-read rw ref $rw gave '$got'"
	xenstore-write "$base/expect" written-by-dom0 || fail "xenstore-write $base/expect failed"
	got=$("$CTL" "$domid" grant-write "$rw" written-by-dom0 2>&1) || fail "grant-write rw ref $rw: $got"
	xenstore-write "$base/done" 1 || fail "xenstore-write $base/done failed"
	expect_pass hvmgt gnttab 30
	log_has hvmgt "gnttab: Dom0 wrote 'written-by-dom0'" || fail "the guest did not confirm Dom0's write"
}

test_disk_xenbus() {
	need_hvm_tools
	boot_hvm hvmxb xenbus disk
	expect_pass hvmxb xenbus 60
	log_has hvmxb "xenbus: name hvmxb, domid" || fail "no name/domid line: $(grep -a 'xenbus: name' "$(guest_log hvmxb)")"
}

run_tests
