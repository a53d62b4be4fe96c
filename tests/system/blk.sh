# Block devices the Xen way (docs/blkif.md): disk = [ ... ] in the cfg, the VMM's blkback serving an
# image file in Dom0, the test guest's blkfront (guest/blkfront.c, tests guest/tests/blk_*.c).
# Images live in $WORK, made with truncate; the host writes and checks the guest's pattern
# (guest/tests/blk_common.h) with the python below.
. "$(dirname "$0")/testlib.bash"

PAT="$WORK/pattern.py"
cat >"$PAT" <<'PY'
# pattern.py write IMG SEED [START COUNT] | check IMG SEED [START COUNT] | marker IMG SECTOR TEXT
#          | sums IMG LO HI  (sha256 of the bytes before sector LO and from sector HI on, and the size)
# Sector s (512 bytes) holds 64 little-endian u64: s, seed, then s*K1 + seed*K2 + i for i = 2..63.
import hashlib, os, struct, sys
K1, K2, M = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9, (1 << 64) - 1
def sector(s, seed):
    base = (s * K1 + seed * K2) & M
    return struct.pack("<64Q", s, seed, *[(base + i) & M for i in range(2, 64)])
def span(img, a):
    n = os.path.getsize(img) // 512
    return (int(a[0]), int(a[1])) if len(a) >= 2 else (0, n)
cmd, img = sys.argv[1], sys.argv[2]
if cmd == "write":
    seed = int(sys.argv[3]); start, count = span(img, sys.argv[4:])
    with open(img, "r+b") as f:
        f.seek(start * 512)
        for s0 in range(start, start + count, 2048):
            f.write(b"".join(sector(s, seed) for s in range(s0, min(s0 + 2048, start + count))))
        f.flush(); os.fsync(f.fileno())
elif cmd == "check":
    seed = int(sys.argv[3]); start, count = span(img, sys.argv[4:])
    with open(img, "rb") as f:
        f.seek(start * 512)
        for s in range(start, start + count):
            got = f.read(512)
            if got != sector(s, seed):
                w = struct.unpack("<2Q", got[:16]) if len(got) >= 16 else got
                sys.exit("sector %d does not hold the pattern (seed %d): starts %r" % (s, seed, w))
    print("checked", count, "sectors")
elif cmd == "marker":
    with open(img, "rb") as f:
        f.seek(int(sys.argv[3]) * 512)
        got = f.read(512)
    text = sys.argv[4].encode()
    if not got.startswith(text + b"\0"):
        sys.exit("sector %s holds %r, not %r" % (sys.argv[3], got[:32], text))
elif cmd == "sums":
    lo, hi = int(sys.argv[3]) * 512, int(sys.argv[4]) * 512
    with open(img, "rb") as f:
        data = f.read()
    print(len(data), hashlib.sha256(data[:lo]).hexdigest(), hashlib.sha256(data[hi:]).hexdigest())
PY
pattern() { need python3 && python3 "$PAT" "$@"; }

# blk_cfg NAME CMDLINE DISK...: a cfg with those disks.
blk_cfg() {
	local name=$1 cmdline=$2 disks="" d
	shift 2
	for d in "$@"; do disks="$disks${disks:+, }'$d'"; done
	make_cfg "$name" "cmdline = \"$cmdline\"" "disk = [ $disks ]"
}

# boot NAME CMDLINE DISK...: xl create, failing with what xl said.
boot() {
	"$XL" create "$(blk_cfg "$@")" >"$WORK/create-$1" 2>&1 || fail "xl create $1 failed: $(cat "$WORK/create-$1")"
}

image() { rm -f "$1"; truncate -s "$2" "$1"; }

vmm_pid() { pgrep -f -- "xenith-vmm.*$XENITH_RUNDIR.*--name $1( |\$)" | head -1; }

test_guest_pattern_verified_on_host() {
	image "$WORK/a.img" 8M
	boot pat "test=blk-pattern seed=11" "$WORK/a.img,raw,xvda,rw"
	expect_log pat "blk: xvda sectors 16384 sector-size 512 ro=0" 30
	expect_log pat "PASS blk-pattern" 120
	log_has pat "blk-pattern: wrote and verified 16384 sectors" || fail "no 'wrote and verified' line"
	wait_for 10 domain_gone pat || fail "pat still listed after PASS"
	pattern check "$WORK/a.img" 11 >"$WORK/out" 2>&1 || fail "host check of the guest's pattern: $(cat "$WORK/out")"
	[ "$(stat -c %s "$WORK/a.img")" = $((8 << 20)) ] || fail "the image changed size: $(stat -c %s "$WORK/a.img")"
}

# One queue asked for (blk-features=none) and busy-polled rings (poll=1): the pattern is still
# written and verified, and the host reads it back.
test_pattern_plain_and_polled() {
	image "$WORK/p.img" 8M
	boot plainpoll "test=blk-pattern seed=13 blk-features=none poll=1" "$WORK/p.img,raw,xvda,rw"
	expect_log plainpoll "blk: xvda queues 1 poll=1" 30
	expect_log plainpoll "PASS blk-pattern" 120
	pattern check "$WORK/p.img" 13 >"$WORK/out" 2>&1 || fail "host check of the guest's pattern: $(cat "$WORK/out")"
}

# The pattern over as many queues as the backend offers (up to 2), then blk-bench at depth 8 with
# busy-polled rings: every request answered OKAY and the notifies/events line printed.
test_pattern_and_bench_over_queues() {
	image "$WORK/q.img" 8M
	boot mq "test=blk-pattern seed=17" "$WORK/q.img,raw,xvda,rw"
	expect_log mq "blk: xvda queues [12] poll=0" 30
	expect_log mq "PASS blk-pattern" 120
	pattern check "$WORK/q.img" 17 >"$WORK/out" 2>&1 || fail "host check of the guest's pattern: $(cat "$WORK/out")"
	wait_for 10 domain_gone mq || fail "mq still listed after PASS"
	boot mqbench "test=blk-bench mode=randread bs=4096 count=2000 depth=8 poll=1" "$WORK/q.img,raw,xvda,rw"
	expect_log mqbench "PASS blk-bench" 120
	log_has mqbench "blk-bench mode=randread bs=4096 count=2000 depth=8 queues" || fail "no blk-bench line"
	log_has mqbench "blk-bench: notifies [0-9][0-9]* events [0-9][0-9]* requests 2000 per-request " ||
		fail "no notifies line: $(grep -a 'blk-bench' "$(guest_log mqbench)")"
}

test_block_device_target() {
	# A real block device (a loop device over an image): size and sector size come from the device.
	need losetup util-linux
	image "$WORK/lo.img" 8M
	local dev; dev=$(losetup -f --show "$WORK/lo.img") || fail "cannot make a loop device"
	echo "$dev" >"$WORK/loopdev"
	boot lodev "test=blk-pattern seed=5" "$dev,raw,xvda,rw" || { losetup -d "$dev"; return 1; }
	expect_log lodev "blk: xvda sectors 16384 sector-size 512 ro=0" 30 || { losetup -d "$dev"; return 1; }
	expect_log lodev "PASS blk-pattern" 120 || { losetup -d "$dev"; return 1; }
	wait_for 10 domain_gone lodev || { losetup -d "$dev"; fail "lodev still listed after PASS"; }
	losetup -d "$dev"
	pattern check "$WORK/lo.img" 5 >"$WORK/out" 2>&1 || fail "host check through the loop device's file: $(cat "$WORK/out")"
}

test_host_pattern_read_by_guest() {
	image "$WORK/b.img" 6M
	pattern write "$WORK/b.img" 23
	boot rc "test=blk-read-check seed=23" "$WORK/b.img,raw,xvda,rw"
	expect_log rc "PASS blk-read-check" 120
	# And a wrong seed is noticed: the check really looks at the data.
	"$XL" destroy rc >/dev/null 2>&1 || true
	wait_for 10 domain_gone rc || fail "rc still listed"
	boot rc2 "test=blk-read-check seed=24" "$WORK/b.img,raw,xvda,rw"
	expect_log rc2 "FAIL blk-read-check: .*does not hold the pattern" 120
}

test_ext4_superblock() {
	need mkfs.ext4 "e2fsprogs; scripts/install-deps"
	image "$WORK/fs.img" 16M
	mkfs.ext4 -F -q -L xenith "$WORK/fs.img" >"$WORK/mkfs" 2>&1 || fail "mkfs.ext4: $(cat "$WORK/mkfs")"
	boot fs "test=blk-ext4" "$WORK/fs.img,raw,xvda,rw"
	expect_log fs "PASS blk-ext4" 60
	log_has fs "blk-ext4: magic 0xef53 found" || fail "no magic line"
}

test_flush_is_durable() {
	image "$WORK/d.img" 4M
	local seed=$$
	boot dur "test=blk-flush-durable seed=$seed" "$WORK/d.img,raw,xvda,rw"
	expect_log dur "blk-flush: acknowledged" 60
	local pid; pid=$(vmm_pid dur)
	[ -n "$pid" ] || fail "no VMM process for dur"
	kill -9 "$pid"
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || fail "the VMM survived SIGKILL"
	pattern marker "$WORK/d.img" 8 "durable-$seed" >"$WORK/out" 2>&1 ||
		fail "the flushed marker is not in the image: $(cat "$WORK/out")"
}

test_readonly_disk() {
	image "$WORK/ro.img" 4M
	pattern write "$WORK/ro.img" 31
	local before; before=$(sha256sum <"$WORK/ro.img")
	boot ro "test=blk-ro" "$WORK/ro.img,raw,xvda,ro"
	expect_log ro "blk: xvda sectors 8192 sector-size 512 ro=1" 30
	expect_log ro "PASS blk-ro" 60
	log_has ro "blk-ro: write refused" || fail "no 'write refused' line"
	wait_for 10 domain_gone ro || fail "ro still listed after PASS"
	[ "$(sha256sum <"$WORK/ro.img")" = "$before" ] || fail "the read-only image changed"
}

test_block_attach_and_detach() {
	image "$WORK/h0.img" 4M
	image "$WORK/h1.img" 4M
	boot hot "test=blk-hotplug" "$WORK/h0.img,raw,xvda,rw"
	expect_log hot "blk-hotplug: xvda ready" 60
	"$XL" block-attach hot "$WORK/h1.img,raw,xvdb,rw" >"$WORK/out" 2>&1 || fail "block-attach: $(cat "$WORK/out")"
	expect_log hot "blk-hotplug: xvdb verified" 120
	"$XL" block-list hot >"$WORK/list" 2>&1 || fail "block-list: $(cat "$WORK/list")"
	grep -q "xvdb\|51728" "$WORK/list" || fail "block-list does not show xvdb: $(cat "$WORK/list")"
	"$XL" block-detach hot xvdb >"$WORK/out" 2>&1 || fail "block-detach: $(cat "$WORK/out")"
	expect_log hot "blk-hotplug: xvdb detached; xvda still works" 60
	expect_log hot "PASS blk-hotplug" 30
	pattern check "$WORK/h1.img" 9 >"$WORK/out" 2>&1 || fail "host check of xvdb's pattern: $(cat "$WORK/out")"
}

test_missing_image_refused() {
	if "$XL" create "$(blk_cfg miss "test=hello" "$WORK/no-such.img,raw,xvda,rw")" >"$WORK/out" 2>&1; then
		fail "create with a missing image succeeded"
	fi
	grep -q "no-such.img" "$WORK/out" || fail "the error does not name the image: $(cat "$WORK/out")"
	wait_for 5 no_vmm_left || fail "a VMM is left after the refused create"
	! domain_listed miss || fail "the refused domain is listed"
}

test_disk_in_use_refused() {
	image "$WORK/s.img" 4M
	boot owner "test=blk-pattern rounds=0" "$WORK/s.img,raw,xvda,rw"
	expect_log owner "blk-pattern: wrote and verified" 120
	if "$XL" create "$(blk_cfg thief "test=hello" "$WORK/s.img,raw,xvda,rw")" >"$WORK/out" 2>&1; then
		fail "a second rw attach of an image in use succeeded"
	fi
	grep -q "s.img" "$WORK/out" || fail "the refusal does not name the image: $(cat "$WORK/out")"
	grep -qiE "in use|attached|owner|already" "$WORK/out" || fail "the refusal does not say why: $(cat "$WORK/out")"
	if "$XL" create "$(blk_cfg peek "test=hello" "$WORK/s.img,raw,xvda,ro")" >"$WORK/out2" 2>&1; then
		fail "a ro attach of an image attached rw elsewhere succeeded"
	fi
	wait_for 5 vmm_count_is 1 || fail "a VMM is left after the refused creates ($(vmm_count))"
	log_lacks owner "FAIL" || fail "the owner failed: $(grep -a FAIL "$(guest_log owner)")"
	return 0
}

test_hostile_blkfront_contained() {
	image "$WORK/good.img" 4M
	image "$WORK/evil.img" 4M
	pattern write "$WORK/evil.img" 5
	local before; before=$(pattern sums "$WORK/evil.img" 64 128)
	boot good "test=blk-pattern rounds=0" "$WORK/good.img,raw,xvda,rw"
	expect_log good "blk-pattern: round 2 verified" 120
	boot evil "test=blk-hostile" "$WORK/evil.img,raw,xvda,rw"
	expect_log evil "PASS blk-hostile" 180
	grep -qiE "refus|invalid|bad|beyond|out of range|error|protocol" "$(vmm_log evil)" ||
		fail "the evil domain's VMM logged nothing about its requests"
	no_match "$(vmm_log evil)" -E "AddressSanitizer|runtime error" || fail "the evil domain's VMM hit a sanitizer report"
	wait_for 10 domain_gone evil || fail "evil still listed after PASS"
	[ "$(pattern sums "$WORK/evil.img" 64 128)" = "$before" ] ||
		fail "the evil image changed outside sectors 64..127 (or its size): $(pattern sums "$WORK/evil.img" 64 128) vs $before"
	pattern check "$WORK/evil.img" 5 0 64 >"$WORK/out" 2>&1 || fail "$(cat "$WORK/out")"
	# The good domain keeps verifying its disk.
	local n; n=$(grep -ac "round [0-9]* verified" "$(guest_log good)")
	wait_for 60 log_count_at_least good "round [0-9]* verified" $((n + 2)) || fail "the good domain's disk stopped"
	log_lacks good "FAIL" || fail "the good domain failed: $(grep -a FAIL "$(guest_log good)")"
}

run_tests
