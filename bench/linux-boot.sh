#!/bin/bash
# bench/linux-boot.sh [RUNS=1]: Debian's own kernel (the bzImage as packaged) with the busybox
# initramfs of scripts/mk-linux-initramfs, from start to the shell prompt: Xenith (`xl create` of a
# PVH cfg, console hvc0) beside QEMU booting the same kernel and initramfs in the same run (console
# ttyS0; -accel kvm where /dev/kvm exists, else TCG, and TCG again if QEMU fails under KVM).
# Without /dev/kvm the Xenith side is skipped with a line saying so; QEMU still runs.
# Environment: BOOT_TIMEOUT (s per boot, default 900: minutes on a PVM host), MEM (MiB, 256).
# Prints figures only; it never fails on timings.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${1:-${RUNS:-1}}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
MEM=${MEM:-256}
for v in RUNS BOOT_TIMEOUT MEM; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
READY='xenith-init: shell ready on '      # printed by the login shell just before its first prompt
INIT='Run /init as init process'

# Without /dev/kvm QEMU's side runs anyway.
bench_init --kvm-optional
xenith_ok=$BENCH_HAVE_KVM
[[ -n $xenith_ok ]] || echo "Xenith: SKIP: no /dev/kvm on this host (nothing can boot under Xenith here)"

KDIR=$(timeout 600 "$BENCH_ROOT/scripts/debian-kernel") || { bench_msg "scripts/debian-kernel failed"; exit 1; }
BZIMAGE=""
for f in "$KDIR"/boot/vmlinuz-*; do [[ -f $f ]] && BZIMAGE=$f && break; done
[[ -n $BZIMAGE ]] || { bench_msg "no boot/vmlinuz-* in $KDIR"; exit 1; }
INITRAMFS=$BENCH_TMP/initramfs.cpio
timeout 300 "$BENCH_ROOT/scripts/mk-linux-initramfs" -k "$KDIR" "$INITRAMFS" >/dev/null ||
    { bench_msg "scripts/mk-linux-initramfs failed"; exit 1; }

bench_find_qemu
qemu_accel=""
if [[ -n $QEMU ]]; then
    if [[ -r /dev/kvm && -w /dev/kvm ]]; then qemu_accel=kvm; else qemu_accel=tcg; fi
fi

# One Xenith boot.  Sets r_init r_ready r_xl (µs from just before xl create), or returns 1 after
# printing what went wrong.
xenith_run() {
    local i=$1 name=bench-linux-$$-$1 log rc xlrc xlt t0 cfg=$BENCH_TMP/bench-linux-$1.cfg
    log=$XENITH_RUNDIR/log/guest-$name.log
    cat >"$cfg" <<EOF
name = "$name"
type = "pvh"
kernel = "$BZIMAGE"
ramdisk = "$INITRAMFS"
memory = $MEM
vcpus = 1
cmdline = "console=hvc0"
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
EOF
    bench_xl_create_cfg "$name" "$cfg" 60
    t0=$BENCH_T0
    rc=0
    bench_wait_line "$log" "$INIT" 'Kernel panic' "$BOOT_TIMEOUT" bench_xl_alive || rc=$?
    ((rc)) || r_init=$((BENCH_LINE_US - t0))
    ((rc)) || bench_wait_line "$log" "$READY" 'Kernel panic' "$BOOT_TIMEOUT" bench_xl_alive || rc=$?
    read -r xlrc xlt < <(bench_xl_wait)
    if ((rc)); then
        echo "run $i: no shell prompt from Xenith (wait status $rc, xl create status $xlrc)" >&2
        [[ -n $BENCH_LINE ]] && echo "  guest said: $BENCH_LINE" >&2
        sed 's/^/  xl: /' "$BENCH_XL_OUT" >&2
        [[ -e $log ]] && tail -5 "$log" | sed 's/^/  console: /' >&2
        [[ -e $XENITH_RUNDIR/log/vmm-$name.log ]] && tail -10 "$XENITH_RUNDIR/log/vmm-$name.log" | sed 's/^/  vmm: /' >&2
        bench_xl_destroy "$name" || true
        return 1
    fi
    r_ready=$((BENCH_LINE_US - t0))
    r_xl=$((xlt - t0))
    bench_xl_destroy "$name" || true
}

# One QEMU boot with ACCEL.  Sets r_init r_ready, or returns 1 after printing what QEMU said.
qemu_run() {
    local i=$1 accel=$2 log=$BENCH_TMP/qemu-$1-$2.log out=$BENCH_TMP/qemu-$1-$2.out t0 tpid rc=0
    bench_now_us t0
    timeout $((BOOT_TIMEOUT + 30)) "$QEMU" -accel "$accel" -m "$MEM" -nodefaults -display none -no-reboot \
        -serial "file:$log" -kernel "$BZIMAGE" -initrd "$INITRAMFS" -append 'console=ttyS0' \
        >"$out" 2>&1 </dev/null &
    tpid=$!
    BENCH_PIDS+=("$tpid")
    bench_wait_line "$log" "$INIT" 'Kernel panic' "$BOOT_TIMEOUT" kill -0 "$tpid" || rc=$?
    ((rc)) || r_init=$((BENCH_LINE_US - t0))
    ((rc)) || bench_wait_line "$log" "$READY" 'Kernel panic' "$BOOT_TIMEOUT" kill -0 "$tpid" || rc=$?
    kill "$tpid" 2>/dev/null || true
    wait "$tpid" 2>/dev/null || true
    if ((rc)); then
        echo "run $i: no shell prompt from QEMU -accel $accel (wait status $rc); QEMU said:" >&2
        sed 's/^/  qemu: /' "$out" >&2
        [[ -s $log ]] && tail -5 "$log" | tr -d '\r' | sed 's/^/  console: /' >&2
        return 1
    fi
    r_ready=$((BENCH_LINE_US - t0))
}

s_ms() { awk -v us="$1" 'BEGIN { if (us == "-") print "-"; else printf "%.2f", us / 1e6 }'; }

echo "Debian's kernel to a shell prompt: $RUNS run(s), $(basename "$BZIMAGE") as packaged ($(stat -c %s "$BZIMAGE") bytes),"
echo "initramfs $(stat -c %s "$INITRAMFS") bytes (uncompressed cpio: busybox-static, Debian's modules), $MEM MiB, 1 vCPU."
echo "Xenith: 'xl create' of a pvh cfg (console=hvc0); QEMU: $("${QEMU:-false}" --version 2>/dev/null | head -1 || echo missing),"
echo "  -kernel/-initrd (console=ttyS0), -accel ${qemu_accel:-none}$([[ $qemu_accel == tcg ]] && echo ' (no /dev/kvm: software emulation)')."
echo "Times in seconds from just before xl create / exec of QEMU to the console line '$INIT' (init)"
echo "and to '$READY...' (shell), which the login shell prints just before its first prompt."
echo
printf '%-4s | %8s %8s %8s | %-5s %8s %8s\n' run "x-init" "x-shell" "xl-ret" accel "q-init" "q-shell"
x_ready=() q_ready=()
for ((i = 1; i <= RUNS; i++)); do
    xi=- xr=- xx=- qa=- qi=- qr=-
    if [[ -n $xenith_ok ]] && xenith_run "$i"; then
        xi=$(s_ms "$r_init") xr=$(s_ms "$r_ready") xx=$(s_ms "$r_xl")
        x_ready+=("$r_ready")
    fi
    if [[ -n $qemu_accel ]]; then
        if qemu_run "$i" "$qemu_accel"; then
            qa=$qemu_accel qi=$(s_ms "$r_init") qr=$(s_ms "$r_ready")
            q_ready+=("$r_ready")
        elif [[ $qemu_accel == kvm ]]; then
            echo "QEMU failed under KVM (above); TCG (software emulation) from now on." >&2
            qemu_accel=tcg
            if qemu_run "$i" tcg; then
                qa=tcg qi=$(s_ms "$r_init") qr=$(s_ms "$r_ready")
                q_ready+=("$r_ready")
            fi
        else
            qemu_accel=""
            echo "QEMU failed; continuing without it." >&2
        fi
    fi
    printf '%-4s | %8s %8s %8s | %-5s %8s %8s\n' "$i" "$xi" "$xr" "$xx" "$qa" "$qi" "$qr"
done
echo

summary() {
    (($# > 1)) || { echo "${1}no successful runs"; return; }
    local label=$1
    shift
    printf '%s\n' "$@" | bench_stats | awk -v l="$label" -v n=$# '{ printf "%smin %.2f s, median %.2f s (%d runs)\n", l, $1/1e6, $2/1e6, n }'
}
if [[ -n $xenith_ok ]]; then
    summary "xenith, xl create -> shell prompt: " ${x_ready[@]+"${x_ready[@]}"}
else
    echo "xenith, xl create -> shell prompt: SKIP (no /dev/kvm)"
fi
summary "qemu -accel ${qemu_accel:-none}, exec -> shell prompt: " ${q_ready[@]+"${q_ready[@]}"}
