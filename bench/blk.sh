#!/bin/bash
# bench/blk.sh: block I/O from the test guest (blkfront -> the VMM's blkback -> an image file) beside
# fio on the same file from the host, per mode, same block size, one request at a time.
# Environment: BS (4096), COUNT (20000 requests per mode), SIZE_MB (64, the image), MODES
# ("seqread seqwrite randread randwrite").  Prints figures only, never fails on timings.
# Guest: test=blk-bench (guest/tests/blk_bench.c) in a domain with the image as xvda, N requests one at
# a time, timed with the pvclock.  Host: fio --ioengine=psync --direct=0 --iodepth=1, same bs, same
# count (--io_size), same file, run right after the guest in the same loop.  ratio = guest / host IOPS.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BS=${BS:-4096}
COUNT=${COUNT:-20000}
SIZE_MB=${SIZE_MB:-64}
MODES=${MODES:-seqread seqwrite randread randwrite}
[[ $BS =~ ^[0-9]+$ ]] && ((BS % 512 == 0 && BS > 0 && BS <= 45056)) ||
    { echo "BS must be a multiple of 512 up to 45056" >&2; exit 2; }
[[ $COUNT =~ ^[1-9][0-9]*$ && $SIZE_MB =~ ^[1-9][0-9]*$ ]] || { echo "COUNT and SIZE_MB: positive integers" >&2; exit 2; }

bench_init
CTL=$BENCH_ROOT/bin/xenith-ctl
FIO=$(command -v fio || true)
if [[ -z $FIO ]]; then
    echo "fio missing: installing Debian's fio"
    timeout 600 apt-get install -y --no-install-recommends fio >"$BENCH_TMP/apt.log" 2>&1 ||
        { tail -5 "$BENCH_TMP/apt.log"; echo "apt-get install failed: the fio column will be empty"; }
    FIO=$(command -v fio || true)
fi

IMG=$BENCH_TMP/disk.img
# Real extents (not a sparse file), so that reads on both sides come from the same written blocks.
timeout 120 dd if=/dev/zero of="$IMG" bs=1M count="$SIZE_MB" conv=fsync status=none

# blk_create NAME CMDLINE: as bench_xl_create, with the image as xvda.
blk_create() {
    local name=$1 cfg=$BENCH_TMP/$1.cfg
    cat >"$cfg" <<EOF
name = "$name"
type = "pvh"
kernel = "$GUEST_ELF"
memory = 64
cmdline = "$2"
disk = [ '$IMG,raw,xvda,rw' ]
EOF
    BENCH_DOMAINS+=("$name")
    BENCH_XL_DONE=$BENCH_TMP/$name.xl-done
    BENCH_XL_OUT=$BENCH_TMP/$name.xl-out
    rm -f "$BENCH_XL_DONE"
    (
        rc=0
        timeout 30 "$XL" create "$cfg" >"$BENCH_XL_OUT" 2>&1 || rc=$?
        echo "$rc 0" >"$BENCH_XL_DONE.tmp"
        mv "$BENCH_XL_DONE.tmp" "$BENCH_XL_DONE"
    ) &
    BENCH_PIDS+=($!)
}

# vbd_events NAME: "requests events" of its disks so far (requests: every response, errors too;
# events: notifies + kicks, the event-channel notifications both ways), or "0 0".
vbd_events() {
    local id out line reqs=0 ev=0
    id=$("$XL" domid "$1" 2>/dev/null) && out=$(timeout 5 "$CTL" "$id" vbd-list stats 2>/dev/null) ||
        { echo "0 0"; return; }
    while read -r line; do
        [[ $line =~ reads=([0-9]+)\ writes=([0-9]+)\ flushes=([0-9]+)\ discards=([0-9]+)\ errors=([0-9]+) ]] ||
            continue
        reqs=$((reqs + BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3] + BASH_REMATCH[4] + BASH_REMATCH[5]))
        [[ $line =~ notifies=([0-9]+)\ kicks=([0-9]+) ]] && ev=$((ev + BASH_REMATCH[1] + BASH_REMATCH[2]))
    done <<<"$out"
    echo "$reqs $ev"
}

# guest_run MODE: sets g_iops g_mbps g_evreq, or returns 1 after saying why.
guest_run() {
    local mode=$1 name=bench-blk-$$-$1 log rc=0
    log=$XENITH_RUNDIR/log/guest-$name.log
    blk_create "$name" "test=blk-bench mode=$mode bs=$BS count=$COUNT"
    bench_wait_line "$log" '^blk-bench mode=' '^(FAIL |exception )' 600 bench_xl_alive || rc=$?
    if ((rc)); then
        echo "$mode: no blk-bench line from the guest (wait status $rc)" >&2
        [[ -n $BENCH_LINE ]] && echo "  guest said: $BENCH_LINE" >&2
        sed 's/^/  xl: /' "$BENCH_XL_OUT" >&2 2>/dev/null || true
        [[ -e $XENITH_RUNDIR/log/vmm-$name.log ]] && tail -5 "$XENITH_RUNDIR/log/vmm-$name.log" | sed 's/^/  vmm: /' >&2
        bench_xl_destroy "$name" || true
        return 1
    fi
    [[ $BENCH_LINE =~ iops=([0-9]+)\ mbps=([0-9.]+) ]] || { echo "$mode: cannot parse: $BENCH_LINE" >&2; return 1; }
    g_iops=${BASH_REMATCH[1]} g_mbps=${BASH_REMATCH[2]}
    local reqs ev
    read -r reqs ev < <(vbd_events "$name")
    g_evreq=$(ratio "$ev" "$reqs")
    bench_xl_finish "$name" 2000
}

# fio_run MODE: sets f_iops f_mbps.
fio_run() {
    local mode=$1 rw out=$BENCH_TMP/fio-$1.json
    case $mode in
        seqread) rw=read ;; seqwrite) rw=write ;; randread) rw=randread ;; randwrite) rw=randwrite ;;
    esac
    timeout 300 "$FIO" --name="$mode" --filename="$IMG" --rw="$rw" --bs="$BS" --direct=0 --ioengine=psync \
        --iodepth=1 --size="${SIZE_MB}m" --io_size=$((COUNT * BS)) --randrepeat=1 --norandommap \
        --output-format=json >"$out" 2>"$BENCH_TMP/fio-$1.err" ||
        { echo "$mode: fio failed: $(tail -2 "$BENCH_TMP/fio-$1.err")" >&2; return 1; }
    read -r f_iops f_mbps < <(python3 - "$out" "$rw" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
side = j["read"] if "read" in sys.argv[2] else j["write"]
print("%d %.2f" % (side["iops"], side["bw_bytes"] / 1e6))
PY
)
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

echo "Block I/O: $COUNT requests of $BS bytes per mode, iodepth 1, image $SIZE_MB MiB (written with dd first)."
echo "guest:  test=blk-bench (guest/tests/blk_bench.c): blkfront, one request at a time, timed with the pvclock."
echo "host:   $("${FIO:-false}" --version 2>/dev/null || echo "fio missing") --ioengine=psync --direct=0 --iodepth=1 on the same file."
echo "ratio = guest / host (IOPS).  MB = 10^6 bytes.  ev/req: event-channel notifications both ways per request"
echo "        (vbd-list stats: notifies + kicks over every request the domain made, boot included)."
echo
printf '%-10s | %10s %9s %7s | %10s %9s | %7s\n' mode "guest IOPS" "MB/s" "ev/req" "fio IOPS" "MB/s" ratio
for mode in $MODES; do
    case $mode in seqread|seqwrite|randread|randwrite) ;; *) echo "unknown mode $mode" >&2; exit 2 ;; esac
    g_iops=- g_mbps=- g_evreq=- f_iops=- f_mbps=-
    guest_run "$mode" || true
    [[ -n $FIO ]] && { fio_run "$mode" || true; }
    r=-
    [[ $g_iops != - && $f_iops != - ]] && r=$(ratio "$g_iops" "$f_iops")
    printf '%-10s | %10s %9s %7s | %10s %9s | %7s\n' "$mode" "$g_iops" "$g_mbps" "$g_evreq" "$f_iops" "$f_mbps" "$r"
done
