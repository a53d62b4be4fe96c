#!/bin/bash
# bench/blk.sh: block I/O from the test guest (blkfront -> the VMM's blkback -> an image file) beside
# fio on the same file from the host (the host's ceiling), per mode and queue depth, same block size.
# Environment: BS (4096), COUNT (20000 requests per mode and depth), SIZE_MB (64, the image), MODES
# ("seqread seqwrite randread randwrite"), DEPTHS ("1 32"), BENCH_QUICK=1 (COUNT 4000, SIZE_MB 16:
# a smoke run).  Prints figures only, never fails on timings.
# Guest: test=blk-bench (guest/tests/blk_bench.c) in a domain with the image as xvda, N requests,
# timed with the pvclock; blk-bench has no depth option yet, so its rows are at depth 1 (the table
# says so); should it learn `depth=`, each depth is passed on.  Host: fio --ioengine=io_uring
# (libaio where io_uring cannot run) --direct=0 (blkback's file is not O_DIRECT either) at each
# depth, same bs, same count (--io_size), same file.  Without /dev/kvm the guest columns are `-`, a
# SKIP line says why, and the fio rows still run.  ratio = guest / host IOPS at the same depth.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -n ${BENCH_QUICK:-} ]]; then
    COUNT=${COUNT:-4000} SIZE_MB=${SIZE_MB:-16}
fi
BS=${BS:-4096}
COUNT=${COUNT:-20000}
SIZE_MB=${SIZE_MB:-64}
MODES=${MODES:-seqread seqwrite randread randwrite}
DEPTHS=${DEPTHS:-1 32}
for d in $DEPTHS; do
    [[ $d =~ ^[1-9][0-9]*$ ]] && ((d <= 1024)) || { echo "DEPTHS: each 1 to 1024, not '$d'" >&2; exit 2; }
done
[[ $BS =~ ^[0-9]+$ ]] && ((BS % 512 == 0 && BS > 0 && BS <= 45056)) ||
    { echo "BS must be a multiple of 512 up to 45056" >&2; exit 2; }
[[ $COUNT =~ ^[1-9][0-9]*$ && $SIZE_MB =~ ^[1-9][0-9]*$ ]] || { echo "COUNT and SIZE_MB: positive integers" >&2; exit 2; }

bench_init --kvm-optional
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

# io_uring where this kernel and fio run it, else libaio (bench_fio_engine).
ENGINE=""
if [[ -n $FIO ]]; then
    ENGINE=$(bench_fio_engine "$FIO" "$IMG" 2>/dev/null)
    [[ -n $ENGINE ]] || { echo "fio runs neither io_uring nor libaio here: $(tail -1 "$BENCH_TMP/fio-probe-libaio.out")"; FIO=""; }
fi
# Does the guest's blk-bench take a queue depth?  (It reads its options by name from its cmdline.)
GUEST_DEPTH=""
grep -q '"depth"' "$BENCH_ROOT/guest/tests/blk_bench.c" 2>/dev/null && GUEST_DEPTH=1
CLK_TCK=$(getconf CLK_TCK)
# The guest busy-polls its rings from ring 3 (poll=1, issue 14 item 4); GUEST_POLL=0: event-driven.
GUEST_POLL=${GUEST_POLL:-1}

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

# vbd_events NAME: "requests events exits" of its disks so far (requests: every response, errors too;
# events: notifies + kicks, the event-channel notifications both ways; exits: the domain's vCPU
# exits, KVM's own count where it keeps binary stats, else those that reached the VMM), or "0 0 0".
vbd_events() {
    local id out line info reqs=0 ev=0 ex=0
    id=$("$XL" domid "$1" 2>/dev/null) && out=$(timeout 5 "$CTL" "$id" vbd-list stats 2>/dev/null) ||
        { echo "0 0 0"; return; }
    info=$(timeout 5 "$CTL" "$id" info 2>/dev/null || true)
    if [[ $info =~ \ exits=([0-9]+) ]] || [[ $info =~ user_exits=([0-9]+) ]]; then ex=${BASH_REMATCH[1]}; fi
    while read -r line; do
        [[ $line =~ reads=([0-9]+)\ writes=([0-9]+)\ flushes=([0-9]+)\ discards=([0-9]+)\ errors=([0-9]+) ]] ||
            continue
        reqs=$((reqs + BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3] + BASH_REMATCH[4] + BASH_REMATCH[5]))
        [[ $line =~ notifies=([0-9]+)\ kicks=([0-9]+) ]] && ev=$((ev + BASH_REMATCH[1] + BASH_REMATCH[2]))
    done <<<"$out"
    echo "$reqs $ev $ex"
}

# vmm_cpu_us NAME: the CPU time (µs) NAME's VMM has used outside guest mode so far (utime + stime
# of every thread minus guest_time, /proc ticks), or nothing if it has gone.
vmm_cpu_us() {
    local pid f
    pid=$(bench_vmm_pid "$1")
    [[ -n $pid ]] && read -r -a f < <(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || return 0
    if ((${#f[@]} > 40)); then echo $(((f[11] + f[12] - f[40]) * 1000000 / CLK_TCK)); fi
}

# guest_run MODE DEPTH: sets g_iops g_mbps g_evreq g_exreq g_cpureq g_depth, or returns 1 after saying why.
guest_run() {
    local mode=$1 name=bench-blk-$$-$1-$2 log rc=0 opts=""
    log=$XENITH_RUNDIR/log/guest-$name.log
    [[ -n $GUEST_DEPTH ]] && opts=" depth=$2"
    blk_create "$name" "test=blk-bench mode=$mode bs=$BS count=$COUNT$opts poll=$GUEST_POLL"
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
    g_iops=${BASH_REMATCH[1]} g_mbps=${BASH_REMATCH[2]} g_depth=1
    [[ $BENCH_LINE =~ depth=([0-9]+) ]] && g_depth=${BASH_REMATCH[1]}
    local reqs ev cpu
    cpu=$(vmm_cpu_us "$name")
    [[ -n $cpu ]] && g_cpureq=$(ratio "$cpu" "$COUNT")
    read -r reqs ev ex < <(vbd_events "$name")
    g_evreq=$(ratio "$ev" "$reqs")
    g_exreq=$(ratio "$ex" "$reqs")
    bench_xl_finish "$name" 2000
}

# fio_run MODE DEPTH: sets f_iops f_mbps f_cpureq.
fio_run() {
    local mode=$1 depth=$2 rw out=$BENCH_TMP/fio-$1-$2.json
    case $mode in
        seqread) rw=read ;; seqwrite) rw=write ;; randread) rw=randread ;; randwrite) rw=randwrite ;;
    esac
    timeout 300 "$FIO" --name="$mode" --filename="$IMG" --rw="$rw" --bs="$BS" --direct=0 --ioengine="$ENGINE" \
        --iodepth="$depth" --size="${SIZE_MB}m" --io_size=$((COUNT * BS)) --randrepeat=1 --norandommap \
        --output-format=json >"$out" 2>"$BENCH_TMP/fio-$1-$2.err" ||
        { echo "$mode depth $depth: fio failed: $(tail -2 "$BENCH_TMP/fio-$1-$2.err")" >&2; return 1; }
    # CPU per request: fio's usr_cpu + sys_cpu (percent of the job's runtime, every thread of the job,
    # io_uring's workers included) over the requests it completed.
    read -r f_iops f_mbps f_cpureq < <(python3 - "$out" "$rw" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
side = j["read"] if "read" in sys.argv[2] else j["write"]
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
cpu_us = (j["usr_cpu"] + j["sys_cpu"]) / 100.0 * j["job_runtime"] * 1000.0
print("%d %.2f %s" % (side["iops"], side["bw_bytes"] / 1e6, "%.2f" % (cpu_us / ios) if ios else "-"))
PY
)
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

echo "Issue 14 target (benchmarks, not tests): blkfront >= 0.9x fio at queue depth 1 and 32, < 0.05 events"
echo "per request under load."
echo "Block I/O: $COUNT requests of $BS bytes per mode and depth, image $SIZE_MB MiB (written with dd first)."
if [[ -n $BENCH_HAVE_KVM ]]; then
    echo "guest:  test=blk-bench (guest/tests/blk_bench.c): blkfront, timed with the pvclock.$([[ -z $GUEST_DEPTH ]] &&
        echo "  It has no depth option: its rows are at depth 1 (one request at a time), shown on the depth-1 rows.")"
else
    echo "guest:  SKIP: no /dev/kvm (nothing can boot a guest on this host); the fio rows are the host's ceiling."
fi
echo "host:   $("${FIO:-false}" --version 2>/dev/null || echo "fio missing") --ioengine=${ENGINE:--} --direct=0 --iodepth=DEPTH on the same file."
echo "ratio = guest / host (IOPS) at the same depth.  MB = 10^6 bytes.  ev/req: event-channel notifications both"
echo "        ways per request (vbd-list stats: notifies + kicks over every request the domain made, boot included)."
echo "ex/req: the domain's vCPU exits per request, boot included (KVM's own count where it keeps binary stats, else"
echo "        the exits that reached the VMM)."
echo "cpu_us/req: guest: the VMM's CPU outside guest mode (/proc utime+stime-guest_time, ${CLK_TCK} Hz ticks,"
echo "        boot included) per request; fio: its usr_cpu+sys_cpu over its runtime, per request."
echo
row() { printf '%-10s %5s | %10s %9s %7s %7s %10s | %10s %9s %10s | %7s\n' "$@"; }
row mode depth "guest IOPS" "MB/s" "ev/req" "ex/req" cpu_us/req "fio IOPS" "MB/s" cpu_us/req ratio
for mode in $MODES; do
    case $mode in seqread|seqwrite|randread|randwrite) ;; *) echo "unknown mode $mode" >&2; exit 2 ;; esac
    for depth in $DEPTHS; do
        g_iops=- g_mbps=- g_evreq=- g_exreq=- g_cpureq=- g_depth=- f_iops=- f_mbps=- f_cpureq=-
        if [[ -n $BENCH_HAVE_KVM ]] && { [[ -n $GUEST_DEPTH ]] || ((depth == 1)); }; then
            guest_run "$mode" "$depth" || true
        fi
        [[ -n $FIO ]] && { fio_run "$mode" "$depth" || true; }
        r=-
        [[ $g_iops != - && $f_iops != - ]] && r=$(ratio "$g_iops" "$f_iops")
        row "$mode" "$depth" "$g_iops" "$g_mbps" "$g_evreq" "$g_exreq" "$g_cpureq" "$f_iops" "$f_mbps" "$f_cpureq" "$r"
        if [[ $g_depth != - && $g_depth != "$depth" ]]; then echo "           (the guest ran at depth $g_depth)"; fi
    done
done
