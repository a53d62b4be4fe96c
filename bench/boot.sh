#!/bin/bash
# bench/boot.sh [RUNS=5]: boot time to the guest's banner and the VMM's memory beyond guest RAM,
# Xenith (`xl create` of the test guest) beside QEMU (-accel kvm, booting the same ELF via PVH).
# Prints figures only; it never fails on timings.  See bench/README.md.
set -euo pipefail
BENCH_POLL=${BENCH_POLL:-0.001}     # poll the console logs every 1 ms: boots take tens of ms
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${1:-${RUNS:-5}}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
SETTLE=${SETTLE:-0.2}       # seconds after the banner before RSS is read
MEM=128

bench_init
bench_find_qemu
qemu_ok=${QEMU:+1}

xen_boot=() xen_xl=() xen_own=() xen_rss=() xen_ram=()
q_boot=() q_own=() q_rss=() q_ram=()

# One Xenith run: xl create, banner, RSS, xl destroy.  Sets r_boot r_xl r_rss r_ram r_own.
xenith_run() {
    local i=$1 name=bench-boot-$$-$1 log rc xlrc xlt pid vmrss rollup ram
    log=$XENITH_RUNDIR/log/guest-$name.log
    bench_xl_create "$name" "test=counter" "$MEM"
    rc=0
    bench_wait_line "$log" '^Xenith test guest: Xen [0-9]' \
        '^(FAIL |exception |Xenith test guest: Xen not found)' 30 bench_xl_alive || rc=$?
    read -r xlrc xlt < <(bench_xl_wait)
    if ((rc)); then
        echo "run $i: no banner from Xenith (wait status $rc, xl create status $xlrc)" >&2
        [[ -n $BENCH_LINE ]] && echo "  guest said: $BENCH_LINE" >&2
        sed 's/^/  xl: /' "$BENCH_XL_OUT" >&2
        [[ -e $XENITH_RUNDIR/log/vmm-$name.log ]] && sed 's/^/  vmm: /' "$XENITH_RUNDIR/log/vmm-$name.log" >&2
        return 1
    fi
    r_boot=$((BENCH_LINE_US - BENCH_T0))
    r_xl=$((xlt - BENCH_T0))
    bench_nap "$SETTLE"
    pid=$(bench_vmm_pid "$name")
    if [[ -n $pid ]]; then
        read -r vmrss rollup ram < <(bench_rss "$pid" 'memfd:xenith-guest-ram')
        r_rss=$vmrss r_ram=$ram r_own=$((vmrss - ram))
        ((rollup - vmrss > 256 || vmrss - rollup > 256)) &&
            echo "note: run $i: smaps_rollup Rss $rollup kB vs VmRSS $vmrss kB" >&2
    else
        echo "run $i: VMM for $name not found (pgrep)" >&2
        r_rss=- r_ram=- r_own=-
    fi
    bench_xl_destroy "$name" || true
}

# One QEMU run.  Sets r_boot r_rss r_ram r_own, or returns 1 after printing what QEMU said.
qemu_run() {
    local i=$1 log=$BENCH_TMP/qemu-$1.log out=$BENCH_TMP/qemu-$1.out pidf=$BENCH_TMP/qemu-$1.pid
    local t0 tpid rc pid vmrss rollup ram
    bench_now_us t0
    timeout 60 "$QEMU" -accel kvm -m "$MEM" -nographic -no-reboot -nodefaults \
        -debugcon "file:$log" -pidfile "$pidf" \
        -kernel "$GUEST_ELF" -append 'test=counter' >"$out" 2>&1 </dev/null &
    tpid=$!
    BENCH_PIDS+=("$tpid")
    rc=0
    bench_wait_line "$log" '^Xenith test guest: Xen not found' '^(FAIL |exception )' 30 kill -0 "$tpid" || rc=$?
    if ((rc)); then
        echo "run $i: no banner from QEMU (wait status $rc); QEMU said:" >&2
        kill "$tpid" 2>/dev/null || true
        wait "$tpid" 2>/dev/null || true
        sed 's/^/  qemu: /' "$out" >&2
        [[ -s $log ]] && sed 's/^/  guest: /' "$log" >&2
        return 1
    fi
    r_boot=$((BENCH_LINE_US - t0))
    bench_nap "$SETTLE"
    pid=$(cat "$pidf" 2>/dev/null || true)
    if [[ -n $pid && -e /proc/$pid/smaps ]]; then
        read -r vmrss rollup ram < <(bench_rss "$pid" $((MEM * 1024)))
        r_rss=$vmrss r_ram=$ram r_own=$((vmrss - ram))
    else
        r_rss=- r_ram=- r_own=-
    fi
    kill "$tpid" 2>/dev/null || true
    wait "$tpid" 2>/dev/null || true
}

echo "Boot to banner and VMM memory: $RUNS run(s), guest $GUEST_ELF, $MEM MiB, test=counter"
echo "Xenith: 'xl create' of a pvh cfg, time to 'Xenith test guest: Xen ...' in the console log."
echo "QEMU:   $("${QEMU:-false}" --version 2>/dev/null | head -1 || echo missing), -accel kvm PVH boot, time to 'Xen not found' on port 0xe9."
echo "RSS read ${SETTLE}s after the banner; own = VmRSS - Rss of the guest-RAM mapping (kB)."
echo
rule() {    # rule WIDTH LABEL: the label centred in a line of dashes
    local t=" $2 " l r d
    l=$((($1 - ${#t}) / 2)) r=$(($1 - ${#t} - ($1 - ${#t}) / 2))
    printf -v d '%*s' "$1" ''
    d=${d// /-}
    printf '%s%s%s' "${d:0:l}" "$t" "${d:0:r}"
}
printf '%-4s | %s | %s\n' "" "$(rule 44 xenith)" "$(rule 34 qemu)"
printf '%-4s | %9s %9s %8s %7s %7s | %9s %8s %7s %7s\n' run "banner ms" "xl-ret ms" "VmRSS" "RAM" "own" \
    "banner ms" "VmRSS" "RAM" "own"
for ((i = 1; i <= RUNS; i++)); do
    xb=- xx=- xr=- xm=- xo=- qb=- qr=- qm=- qo=-
    if xenith_run "$i"; then
        xb=$(bench_ms "$r_boot") xx=$(bench_ms "$r_xl") xr=$r_rss xm=$r_ram xo=$r_own
        xen_boot+=("$r_boot") xen_xl+=("$r_xl")
        [[ $r_own != - ]] && xen_own+=("$r_own") xen_rss+=("$r_rss") xen_ram+=("$r_ram")
    fi
    if [[ -n $qemu_ok ]]; then
        if qemu_run "$i"; then
            qb=$(bench_ms "$r_boot") qr=$r_rss qm=$r_ram qo=$r_own
            q_boot+=("$r_boot")
            [[ $r_own != - ]] && q_own+=("$r_own") q_rss+=("$r_rss") q_ram+=("$r_ram")
        else
            qemu_ok=""
            echo "QEMU failed on this host; continuing without it." >&2
        fi
    fi
    printf '%-4s | %9s %9s %8s %7s %7s | %9s %8s %7s %7s\n' "$i" "$xb" "$xx" "$xr" "$xm" "$xo" "$qb" "$qr" "$qm" "$qo"
done
echo

# summary helpers: "min median" of µs as ms, medians of kB
ms_stats() { (($#)) || { echo "no successful runs"; return; }
             printf '%s\n' "$@" | bench_stats | awk '{ printf "min %.1f ms, median %.1f ms", $1/1000, $2/1000 }'
             echo " ($# runs)"; }
kb_med() { (($#)) || { echo "-"; return; }; printf '%s\n' "$@" | bench_stats | awk '{ printf "%d", $2 }'; }

echo "boot to banner, xenith (xl create -> banner):  $(ms_stats ${xen_boot[@]+"${xen_boot[@]}"})"
echo "xl create returned, xenith:                    $(ms_stats ${xen_xl[@]+"${xen_xl[@]}"})"
echo "boot to banner, qemu (exec -> banner):         $(ms_stats ${q_boot[@]+"${q_boot[@]}"})"
echo "RSS beyond guest RAM, xenith-vmm:              median $(kb_med ${xen_own[@]+"${xen_own[@]}"}) kB" \
     "(VmRSS $(kb_med ${xen_rss[@]+"${xen_rss[@]}"}) kB, guest RAM Rss $(kb_med ${xen_ram[@]+"${xen_ram[@]}"}) kB)"
echo "RSS beyond guest RAM, qemu:                    median $(kb_med ${q_own[@]+"${q_own[@]}"}) kB" \
     "(VmRSS $(kb_med ${q_rss[@]+"${q_rss[@]}"}) kB, guest RAM Rss $(kb_med ${q_ram[@]+"${q_ram[@]}"}) kB)"
