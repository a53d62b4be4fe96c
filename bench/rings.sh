#!/bin/bash
# bench/rings.sh: the backends alone, no guest (no /dev/kvm needed).  build/release/tests/backend_rings
# (bench/backend_rings.c) runs netback's and blkback's real rings and ring_poller threads on a fake
# domain, with the frontend a polling thread of the same process (it keeps the ring full, kicks only
# when RING_PUSH_REQUESTS_AND_CHECK_NOTIFY says so, never re-arms rsp_event): what the backends could
# do if the guest cost nothing.  Each figure with POLL_US=50 (the VMM's default) and 0 (no spinning
# after work), so adaptive polling's effect on events per unit shows.
#   net-tx / net-rx: SIZE-byte UDP frames between the ring and a SOCK_SEQPACKET socketpair (the TAP's
#                    stand-in) read or written by a host thread.
#   blk:             4 KiB randread / randwrite at depth 1 and 32, io_uring and worker-thread engines,
#                    on a 64 MiB file in the temp dir (written with dd first); beside each, fio on the
#                    same file at the same depth (io_uring, else libaio; --direct=0 as blkback).
# Environment: SECS (3; QUICK=1 or BENCH_QUICK=1: 1), SIZES ("64 1448"), POLLS ("50 0"), DEPTHS ("1 32"),
# RINGS_BIN (the program, already built: no `make all`).
# Prints figures only; exits 0 unless the build fails (or the arguments are bad).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -n ${QUICK:-}${BENCH_QUICK:-} ]]; then SECS=${SECS:-1}; fi
SECS=${SECS:-3}
SIZES=${SIZES:-64 1448}
POLLS=${POLLS:-50 0}
DEPTHS=${DEPTHS:-1 32}
SIZE_MB=64
[[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "SECS: a number of seconds, not '$SECS'" >&2; exit 2; }
for s in $SIZES; do [[ $s =~ ^[0-9]+$ ]] && ((s >= 60 && s <= 4096)) || { echo "SIZES: 60 to 4096, not '$s'" >&2; exit 2; }; done
for p in $POLLS; do [[ $p =~ ^[0-9]+$ ]] && ((p <= 100000)) || { echo "POLLS: 0 to 100000, not '$p'" >&2; exit 2; }; done
for d in $DEPTHS; do [[ $d =~ ^[0-9]+$ ]] && ((d >= 1 && d <= 64)) || { echo "DEPTHS: 1 to 64, not '$d'" >&2; exit 2; }; done

bench_init --kvm-optional
RINGS=${RINGS_BIN:-$BENCH_ROOT/build/release/tests/backend_rings}
# bench_init builds only where a guest can run: we always need the build (RINGS_BIN: a binary built
# elsewhere, e.g. in a developer's own build dir, and no build).
if [[ -z $BENCH_HAVE_KVM && -z ${RINGS_BIN:-} ]]; then
    if ! timeout 900 make -C "$BENCH_ROOT" all >"$BENCH_TMP/build.log" 2>&1; then
        cat "$BENCH_TMP/build.log" >&2
        bench_msg "build failed (make -C $BENCH_ROOT all)"
        exit 1
    fi
fi
[[ -x $RINGS ]] || { bench_msg "the build did not produce $RINGS"; exit 1; }

IMG=$BENCH_TMP/disk.img
timeout 120 dd if=/dev/zero of="$IMG" bs=1M count="$SIZE_MB" conv=fsync status=none

FIO=$(command -v fio || true)
FIO_ENGINE=""
if [[ -n $FIO ]]; then
    FIO_ENGINE=$(bench_fio_engine "$FIO" "$IMG" 2>/dev/null)
    [[ -n $FIO_ENGINE ]] || { echo "fio runs neither io_uring nor libaio here: $(tail -1 "$BENCH_TMP/fio-probe-libaio.out")"; FIO=""; }
else
    echo "fio missing: the fio columns are empty (apt-get install fio)"
fi

# rings ARGS...: runs backend_rings; sets LINE (its key=value line, or "skip=why").
rings() {
    local rc=0
    LINE=$(timeout 60 "$RINGS" "$@" 2>"$BENCH_TMP/rings.err") || rc=$?
    if [[ $LINE != *skip=* && ($rc != 0 || -z $LINE) ]]; then
        LINE="skip=backend_rings $* exited $rc: $(tail -c 200 "$BENCH_TMP/rings.err" | tr '\n' ' ')"
    fi
}
# val KEY: KEY's value in LINE, or -.
val() {
    local kv
    for kv in $LINE; do [[ $kv == "$1="* ]] && { printf '%s' "${kv#*=}"; return; }; done
    printf -
}
skipped() { [[ $LINE == *skip=* ]]; }
skip_why() { printf '%s' "${LINE#*skip=}"; }

# fio_run MODE DEPTH: sets f_iops f_cpureq.
fio_run() {
    local out=$BENCH_TMP/fio-$1-$2.json
    f_iops=- f_cpureq=-
    timeout 120 "$FIO" --name="$1" --filename="$IMG" --rw="$1" --bs=4096 --direct=0 --ioengine="$FIO_ENGINE" \
        --iodepth="$2" --size="${SIZE_MB}m" --time_based --runtime="$SECS" --randrepeat=1 --norandommap \
        --output-format=json >"$out" 2>"$BENCH_TMP/fio.err" ||
        { echo "fio $1 depth $2 failed: $(tail -2 "$BENCH_TMP/fio.err")" >&2; return 0; }
    read -r f_iops f_cpureq < <(python3 - "$out" "$1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
side = j["read"] if "read" in sys.argv[2] else j["write"]
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
cpu_us = (j["usr_cpu"] + j["sys_cpu"]) / 100.0 * j["job_runtime"] * 1000.0
print("%d %s" % (side["iops"], "%.2f" % (cpu_us / ios) if ios else "-"))
PY
) || f_iops=-
}

echo "Issue 14: the backends' own ceiling (no guest: bench/backend_rings.c on a fake domain), ${SECS} s a row."
echo "ev/x: the frontend's kicks + the backend's notifies per packet or request (the frontend polls and never"
echo "      re-arms rsp_event, so what is left is its kicks: each one a ring that went to sleep)."
echo "cpu/x: the whole process's CPU µs (getrusage; the spinning frontend and host threads included);"
echo "serve/x: the ring's serving thread's own CPU µs (its thread clock; blkback's workers and io_uring not in it)."
echo "sleeps: times the serving thread slept in poll(2)."
echo
nrow() { printf '%-7s %5s %7s | %10s %8s %7s %8s %7s %7s\n' "$@"; }
nrow dir size poll_us "pkt/s" "ev/pkt" "cpu/pkt" "serve/pkt" kicks sleeps
for dir in tx rx; do
    for size in $SIZES; do
        for poll in $POLLS; do
            rings "net-$dir" "$size" "$SECS" "$poll"
            if skipped; then
                nrow "net-$dir" "$size" "$poll" "SKIP: $(skip_why)"
            else
                nrow "net-$dir" "$size" "$poll" "$(val pkt_per_s)" "$(val ev_per_pkt)" "$(val cpu_us_per_pkt)" \
                    "$(val serve_cpu_us_per_pkt)" "$(val kicks)" "$(val sleeps)"
            fi
        done
    done
done
echo
echo "blk: 4 KiB requests on a ${SIZE_MB} MiB file; fio: $("${FIO:-false}" --version 2>/dev/null || echo missing)" \
     "--ioengine=${FIO_ENGINE:--} --direct=0, same file and depth, ${SECS} s (its cpu: usr+sys per request)."
brow() { printf '%-9s %5s %-8s %7s | %9s %8s %7s %9s %7s %7s | %9s %7s\n' "$@"; }
brow mode depth engine poll_us IOPS "ev/req" "cpu/req" "serve/req" kicks sleeps "fio IOPS" "cpu/req"
for mode in randread randwrite; do
    for depth in $DEPTHS; do
        f_iops=- f_cpureq=-
        [[ -n $FIO ]] && fio_run "$mode" "$depth"
        for engine in io_uring threads; do
            for poll in $POLLS; do
                rings blk "$mode" "$depth" "$SECS" "$engine" "$poll" "$IMG"
                if skipped; then
                    brow "$mode" "$depth" "$engine" "$poll" "SKIP: $(skip_why)"
                else
                    brow "$mode" "$depth" "$engine" "$poll" "$(val req_per_s)" "$(val ev_per_req)" \
                        "$(val cpu_us_per_req)" "$(val serve_cpu_us_per_req)" "$(val kicks)" "$(val sleeps)" \
                        "$f_iops" "$f_cpureq"
                fi
            done
        done
    done
done
