#!/bin/bash
# shellcheck disable=SC2154   # bench_now_us assigns its variables by name
# bench/density.sh: many idle domains on one host (issue 16).  Starts domains one `xl create` after
# another up to the largest N (DENSITY_NS, default "100 500 1000"), printing the create time of each
# hundred (it should stay flat), and at each N: host memory per domain (MemAvailable before/after),
# the VMMs' RSS per domain, xenstored's RSS and one `xl list`; then, with all of them still up, a
# create+destroy churn of one more domain (DENSITY_CHURN times, default 100); then destroys them
# all (destroy rate).
#
# With /dev/kvm: real VMMs booting the test guest's `idle` program (16 MiB), and beside them QEMU
# started the same way with the same guest for the first hundred.  Without it: the stand-in VMM
# (tests/system/spawn_standin_vmm.py, a Python process that xl spawns and that claims its domid as
# the VMM does), so the figures measure the toolstack (xl, the run directory, the domid claim),
# not the VMM; its memory figures are the stand-in's and say nothing of the VMM's.
# Prints figures only; it never fails on timings.  See bench/README.md and docs/density.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

read -r -a NS <<<"${DENSITY_NS:-100 500 1000}"
CHURN=${DENSITY_CHURN:-100}
MEM=16
for n in "${NS[@]}" "$CHURN"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "DENSITY_NS and DENSITY_CHURN take positive numbers" >&2; exit 2; }
done
MAX=$(printf '%s\n' "${NS[@]}" | sort -n | tail -1)

bench_init --kvm-optional
XL=${DENSITY_XL:-$XL}          # a prebuilt xl (e.g. build/<dir>/bin/xl) spares the stand-in run a build
if [[ -z $BENCH_HAVE_KVM ]]; then
    [[ -x /usr/bin/python3 ]] || { echo "SKIP: no /dev/kvm and no /usr/bin/python3 for the stand-in VMM"; exit 0; }
    if [[ -z ${DENSITY_XL:-} ]] && ! timeout 900 make -C "$BENCH_ROOT" bin/xl >"$BENCH_TMP/build.log" 2>&1; then
        cat "$BENCH_TMP/build.log" >&2
        bench_msg "build failed (make -C $BENCH_ROOT bin/xl)"
        exit 1
    fi
    cat >"$BENCH_TMP/xenith-vmm-standin" <<EOF
#!/bin/bash
exec -a xenith-vmm /usr/bin/python3 "$BENCH_ROOT/tests/system/spawn_standin_vmm.py" "\$@"
EOF
    chmod +x "$BENCH_TMP/xenith-vmm-standin"
    export XENITH_VMM=$BENCH_TMP/xenith-vmm-standin XENITH_KVM_DEVICE=/dev/null
    echo "a stand-in boots nothing" >"$BENCH_TMP/kernel"
    KERNEL=$BENCH_TMP/kernel
    MODE=stand-in
else
    KERNEL=$GUEST_ELF
    MODE=kvm
    bench_find_qemu
fi
# Every domain's VMM (and console) log is kept while it runs; so many must not be pruned meanwhile.
export XENITH_CONSOLE_LOGS_KEPT=1024
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cfg_of() {
    local cfg=$BENCH_TMP/$1.cfg
    [[ -e $cfg ]] || printf 'name = "%s"\ntype = "pvh"\nkernel = "%s"\nmemory = %d\ncmdline = "test=idle"\n' \
        "$1" "$KERNEL" "$MEM" >"$cfg"
    echo "$cfg"
}
mem_available_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
# The VMMs of this run directory (real or stand-in: both run as "xenith-vmm ... --rundir DIR").
vmm_pids() { pgrep -f -- "xenith-vmm.*--rundir $XENITH_RUNDIR( |\$)" || true; }
rss_sum_kb() {
    local pid sum=0 kb
    for pid in "$@"; do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || kb=0
        sum=$((sum + ${kb:-0}))
    done
    echo "$sum"
}
xenstored_rss() {
    local pid
    pid=$(pgrep -n -f -- "xenstored --rundir $XENITH_RUNDIR( |\$)" || true)
    if [[ -z $pid ]]; then echo "not running"; return; fi
    echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") kB"
}
per_s() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.1f/s", (us > 0 ? n * 1e6 / us : 0) }'; }
ms_each() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.2f ms", (n > 0 ? us / n / 1000 : 0) }'; }

create_one() {
    local out
    if ! out=$(timeout 60 "$XL" create -q "$(cfg_of "$1")" 2>&1); then
        echo "xl create $1 failed: $out" >&2
        return 1
    fi
    BENCH_DOMAINS+=("$1")
}

echo "density: $MODE mode, N = ${NS[*]}, churn $CHURN, $MEM MiB domains, $(nproc) CPUs, $(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024)) MiB RAM"
if [[ $MODE == stand-in ]]; then
    echo "no /dev/kvm: the VMM is the stand-in (spawn_standin_vmm.py); these figures measure the toolstack"
    echo "(xl, run directory, domid claim, control sockets) plus a Python start-up per domain, not the VMM."
else
    echo "real VMMs (xenith-vmm) booting the test guest's 'idle' program (SCHEDOP_block, no timer)"
fi

# QEMU beside the first hundred, started the same way (one after another) with the same guest.
qemu_hundred() {
    local i t0 t1 pids=() pidf rss
    if [[ $MODE != kvm ]]; then
        echo "qemu: skipped (no /dev/kvm; QEMU without KVM is no peer for this)"
        return
    fi
    if [[ -z ${QEMU:-} ]]; then
        echo "qemu: skipped (qemu-system-x86_64 is not installed and could not be)"
        return
    fi
    local n=$((MAX < 100 ? MAX : 100)) before
    before=$(mem_available_kb)
    bench_now_us t0
    for ((i = 1; i <= n; i++)); do
        pidf=$BENCH_TMP/qemu-$i.pid
        timeout 600 "$QEMU" -accel kvm -m "$MEM" -display none -daemonize -no-reboot -nodefaults \
            -debugcon "file:$BENCH_TMP/qemu-$i.log" -pidfile "$pidf" \
            -kernel "$GUEST_ELF" -append 'test=idle' >"$BENCH_TMP/qemu-$i.out" 2>&1 </dev/null ||
            { echo "qemu $i failed: $(head -c 300 "$BENCH_TMP/qemu-$i.out")"; break; }
        pids+=("$(cat "$pidf")")
        BENCH_PIDS+=("${pids[-1]}")
    done
    bench_now_us t1
    sleep 1
    rss=$(rss_sum_kb "${pids[@]}")
    echo "qemu: ${#pids[@]} started in $(bench_ms $((t1 - t0))) ms ($(per_s "${#pids[@]}" $((t1 - t0)))), RSS $((rss / ${#pids[@]})) kB each, host memory $(((before - $(mem_available_kb)) / ${#pids[@]})) kB each"
    kill "${pids[@]}" 2>/dev/null || true
    sleep 1
}
qemu_hundred

before=$(mem_available_kb)
printf '%-10s %12s %14s\n' "domains" "this hundred" "rate"
made=0
hundred_t0=0
bench_now_us hundred_t0
run_t0=$hundred_t0
for ((i = 1; i <= MAX; i++)); do
    create_one "dens-$i" || break
    made=$i
    if ((i % 100 == 0 || i == MAX)); then
        bench_now_us tnow
        local_n=$((i % 100 == 0 ? 100 : i % 100))
        printf '%-10s %12s %14s\n' "$i" "$(bench_ms $((tnow - hundred_t0))) ms" "$(per_s "$local_n" $((tnow - hundred_t0)))"
        hundred_t0=$tnow
    fi
    if [[ " ${NS[*]} " == *" $i "* ]]; then
        sleep 1                     # let the last ones settle before their memory is read
        mapfile -t pids < <(vmm_pids)
        used=$((before - $(mem_available_kb)))
        bench_now_us l0
        timeout 60 "$XL" list >"$BENCH_TMP/list.out" 2>&1 || true
        bench_now_us l1
        echo "  at $i: ${#pids[@]} VMMs; host memory $((used / i)) kB per domain; VMM RSS $(($(rss_sum_kb "${pids[@]}") / (${#pids[@]} ? ${#pids[@]} : 1))) kB each; xenstored RSS $(xenstored_rss); xl list $(bench_ms $((l1 - l0))) ms ($(($(wc -l <"$BENCH_TMP/list.out") - 2)) domains listed)"
    fi
done
bench_now_us run_t1
echo "created $made in $(bench_ms $((run_t1 - run_t0))) ms: $(per_s "$made" $((run_t1 - run_t0))) overall"

bench_now_us c0
done_churn=0
for ((i = 1; i <= CHURN; i++)); do
    create_one churn || break
    timeout 60 "$XL" destroy churn >/dev/null 2>&1 || { echo "xl destroy churn failed" >&2; break; }
    BENCH_DOMAINS=()
    done_churn=$i
done
bench_now_us c1
echo "churn beside the $made: $done_churn create+destroy in $(bench_ms $((c1 - c0))) ms: $(per_s "$done_churn" $((c1 - c0))), $(ms_each "$done_churn" $((c1 - c0))) each"
bench_now_us d0
destroyed=0
for ((i = 1; i <= made; i++)); do
    timeout 60 "$XL" destroy "dens-$i" >/dev/null 2>&1 && destroyed=$((destroyed + 1))
done
bench_now_us d1
BENCH_DOMAINS=()
echo "destroyed $destroyed of $made in $(bench_ms $((d1 - d0))) ms: $(per_s "$destroyed" $((d1 - d0))), $(ms_each "$destroyed" $((d1 - d0))) each"

left=$(find "$XENITH_RUNDIR/domains" -mindepth 1 -maxdepth 1 | wc -l)
echo "left behind: $left in domains/, $(vmm_pids | wc -l) VMMs"
