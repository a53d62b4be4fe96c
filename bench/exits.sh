#!/bin/bash
# bench/exits.sh: (a) the guest's ring-3 compute loop against the same loop on the host;
# (b) the round trip of a hypercall (guest -> VMM -> guest) beside a bare KVM port exit.
# Environment: RUNS (3), LOOPS (300000000), COUNT (20000).  Prints figures; never fails on timings.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${RUNS:-3}
LOOPS=${LOOPS:-300000000}
COUNT=${COUNT:-20000}
for v in RUNS LOOPS COUNT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
HOSTLOOP=$BENCH_ROOT/build/release/tests/hostloop

bench_init
[[ -x $HOSTLOOP ]] || { echo "make all did not build $HOSTLOOP" >&2; exit 1; }

# --- the host's TSC frequency: rdtsc across a 200 ms sleep, against CLOCK_MONOTONIC_RAW ---------
cat >"$BENCH_TMP/tscfreq.c" <<'EOF'
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_RAW, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    struct timespec nap = { 0, 200 * 1000 * 1000 };
    double t0 = now();
    uint64_t c0 = rdtsc();
    nanosleep(&nap, NULL);
    uint64_t c1 = rdtsc();
    double t1 = now();
    printf("%.0f\n", (c1 - c0) / (t1 - t0));
    return 0;
}
EOF
timeout 60 gcc -O2 -o "$BENCH_TMP/tscfreq" "$BENCH_TMP/tscfreq.c"
TSC_HZ=$(timeout 10 "$BENCH_TMP/tscfreq")
kernel_tsc=""
if [[ -r /sys/devices/system/cpu/cpu0/tsc_khz ]]; then
    kernel_tsc="tsc_khz $(cat /sys/devices/system/cpu/cpu0/tsc_khz) kHz"
elif kmsg=$(timeout 5 dmesg 2>/dev/null | grep -Eo 'tsc: (Refined TSC clocksource calibration: |Detected )[0-9.]+ MHz' | tail -1) &&
    [[ -n $kmsg ]]; then
    kernel_tsc="kernel log: ${kmsg#tsc: }"
fi

mhz() { awk -v hz="$1" 'BEGIN { printf "%.3f MHz", hz / 1e6 }'; }
echo "Host TSC: $(mhz "$TSC_HZ") (measured: rdtsc across a 200 ms nanosleep vs CLOCK_MONOTONIC_RAW)${kernel_tsc:+; $kernel_tsc}"
echo "Guest TSC values are read with rdtsc in the guest and taken to tick at the host's rate."
echo

# Boots the test guest with CMDLINE via xl create and waits for a line matching RE.  Sets
# BENCH_LINE.  Fails (printing what the guest and VMM said) on a FAIL line, a crash or a timeout.
guest_line() {
    local name=$1 re=$2 limit=$3 rc=0
    bench_wait_line "$XENITH_RUNDIR/log/guest-$name.log" "$re" '^(FAIL |exception )' "$limit" \
        bench_xl_alive || rc=$?
    ((rc == 0)) && return 0
    echo "domain $name: no line matching /$re/ (wait status $rc)" >&2
    [[ -n $BENCH_LINE ]] && echo "  guest said: $BENCH_LINE" >&2
    sed 's/^/  xl: /' "$BENCH_XL_OUT" >&2 || true
    sed 's/^/  console: /' "$XENITH_RUNDIR/log/guest-$name.log" >&2 2>/dev/null || true
    sed 's/^/  vmm: /' "$XENITH_RUNDIR/log/vmm-$name.log" >&2 2>/dev/null || true
    return 1
}

# The guest powers off by itself after PASS/FAIL: wait for that, warn on FAIL, destroy if it lingers.
guest_finish() {
    local name=$1 rc=0
    bench_wait_line "$XENITH_RUNDIR/log/guest-$name.log" '^PASS ' '^FAIL ' 10 bench_xl_alive || rc=$?
    ((rc == 2)) && echo "warning: $name: $BENCH_LINE" >&2
    bench_xl_finish "$name" 400
}

field() { [[ $1 =~ (^| )$2=([0-9]+) ]] && echo "${BASH_REMATCH[2]}"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
median() { printf '%s\n' "$@" | bench_stats | awk '{ print $2 }'; }

# --- (a) ring-3 compute loop: guest vs host ------------------------------------------------------
echo "(a) ring-3 compute loop, $LOOPS loops (guest: test=compute; host: $HOSTLOOP)"
printf '%-4s %14s %14s %10s %10s %11s\n' run "guest tsc" "host tsc" "guest ms" "host ms" "guest/host"
ratios=() gms=() hms=() mismatch=0 compute_ok=0
limit=$((60 + LOOPS / 10000000))
for ((i = 1; i <= RUNS; i++)); do
    name=bench-compute-$$-$i
    bench_xl_create "$name" "test=compute loops=$LOOPS"
    if ! guest_line "$name" '^compute loops=[0-9]+ tsc=[0-9]+ result=[0-9]+' "$limit"; then
        guest_finish "$name"
        continue
    fi
    gline=$BENCH_LINE
    guest_finish "$name"
    hline=$(timeout "$limit" "$HOSTLOOP" "$LOOPS")
    gt=$(field "$gline" tsc) gr=$(field "$gline" result)
    ht=$(field "$hline" tsc) hr=$(field "$hline" result)
    if [[ -z $ht || -z $hr ]]; then
        echo "hostloop printed '$hline'" >&2
        continue
    fi
    if [[ $gr != "$hr" || $(field "$gline" loops) != "$LOOPS" ]]; then
        echo "WARNING: run $i: results differ: guest '$gline', host '$hline'" >&2
        mismatch=1
    fi
    r=$(calc %.3f "$gt / $ht")
    g=$(calc %.1f "$gt / $TSC_HZ * 1000") h=$(calc %.1f "$ht / $TSC_HZ * 1000")
    printf '%-4s %14s %14s %10s %10s %11s\n' "$i" "$gt" "$ht" "$g" "$h" "$r"
    ratios+=("$r") gms+=("$g") hms+=("$h")
    compute_ok=1
done
if ((compute_ok)); then
    echo "ring-3 compute loop, guest/host: median ratio $(median "${ratios[@]}")" \
         "(guest $(median "${gms[@]}") ms, host $(median "${hms[@]}") ms, ${#ratios[@]} runs;" \
         "results $( ((mismatch)) && echo DIFFER || echo match))"
else
    echo "ring-3 compute loop, guest/host: no successful run"
fi
echo

# --- (b) hypercall round trip vs bare port exit --------------------------------------------------
echo "(b) $COUNT hypercalls (xen_version via the hypercall page) and $COUNT port exits (outb 0x80), from ring 3"
printf '%-4s %15s %11s %15s %11s %9s\n' run "hcall cycles" "hcall us" "port cycles" "port us" hcall/port
hc=() hu=() pc=() pu=() hr=()
limit=$((60 + COUNT / 500))
for ((i = 1; i <= RUNS; i++)); do
    name=bench-hcall-$$-$i
    bench_xl_create "$name" "test=hcall-bench count=$COUNT"
    if ! guest_line "$name" '^hcall-bench count=[0-9]+ tsc=[0-9]+' "$limit"; then
        guest_finish "$name"
        continue
    fi
    hline=$BENCH_LINE
    if ! guest_line "$name" '^portio-bench count=[0-9]+ tsc=[0-9]+' "$limit"; then
        guest_finish "$name"
        continue
    fi
    pline=$BENCH_LINE
    guest_finish "$name"
    hn=$(field "$hline" count) ht=$(field "$hline" tsc)
    pn=$(field "$pline" count) pt=$(field "$pline" tsc)
    c1=$(calc %.0f "$ht / $hn") u1=$(calc %.2f "$ht / $hn / $TSC_HZ * 1e6")
    c2=$(calc %.0f "$pt / $pn") u2=$(calc %.2f "$pt / $pn / $TSC_HZ * 1e6")
    r=$(calc %.3f "($ht / $hn) / ($pt / $pn)")
    printf '%-4s %15s %11s %15s %11s %9s\n' "$i" "$c1" "$u1" "$c2" "$u2" "$r"
    hc+=("$c1") hu+=("$u1") pc+=("$c2") pu+=("$u2") hr+=("$r")
done
if ((${#hc[@]})); then
    echo "hypercall round trip (guest -> VMM -> guest): median $(median "${hc[@]}") cycles = $(median "${hu[@]}") us (${#hc[@]} runs)"
    echo "bare port exit (outb, discarded by the VMM):  median $(median "${pc[@]}") cycles = $(median "${pu[@]}") us"
    echo "hypercall / port exit:                        median ratio $(median "${hr[@]}")"
else
    echo "hypercall round trip: no successful run"
fi
