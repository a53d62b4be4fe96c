#!/bin/bash
# shellcheck disable=SC2154   # bench_now_us assigns its variables by name
# bench/migrate.sh: live migration (issue 12), Xenith beside QEMU on the same host in the same run.
# Per guest size (small, 1 GiB) and load (idle, dirtying N MiB continuously), one row per tool:
#   total_ms            the whole migration (QEMU's total-time; for xl the wall time of `xl migrate`)
#   downtime_ms(tool)   the stop-and-copy as the tool reports it (xl's stderr, QEMU's query-migrate)
#   gap_ms(guest)       the longest gap the guest saw between two consecutive clock readings around
#                       the switchover (its high-rate timestamp loop)
#   sent_MiB            what went over the wire (xl's bytes=, QEMU's ram.transferred)
# Guests:
#   xenith-test  our test guest running `migrate-workload dirty_mib=N report_ms=100` (guest/README.md);
#                its gap is the G of `mig: resumed in a new domain after T ms gap_max_us=G`
#   linux        Debian's kernel (scripts/debian-kernel) with a one-file initramfs: /init is
#                bench/migrate_gap.c built with gcc -static (a CLOCK_MONOTONIC loop dirtying N MiB,
#                reporting its longest gap every 100 ms); booted by QEMU (console ttyS0) and by
#                Xenith (PVH, console hvc0), so that row pair compares the same guest
# Xenith migrates with `xl migrate -s examples/migrate/ns-ssh NAME xenith-b` between the two
# namespaced Dom0s of examples/migrate/two-dom0.sh; QEMU with a second qemu-system-x86_64 started
# with `-incoming tcp:127.0.0.1:PORT`, driven over QMP by bench/qmp_migrate.py (bandwidth uncapped).
# QEMU uses -accel kvm where /dev/kvm works, else TCG (rows labelled qemu-tcg: not comparable).
# Without /dev/kvm the Xenith rows print `skip` with the reason; the QEMU rows still run.
# Environment: MEM_SMALL (64: the test guest; Linux needs more, LINUX_MEM_SMALL 128), MEM_LARGE
# (1024), DIRTY_SMALL (16) and DIRTY_LARGE (256) MiB dirtied by the dirtying load, MIG_TIMEOUT (60 s
# per migration), BOOT_TIMEOUT (120 s per guest), TWO_DOM0_A / TWO_DOM0_B / TWO_DOM0_BASE (the
# namespaces and where their run directories lie, as two-dom0.sh and ns-ssh take them: xenith-a,
# xenith-b, /run).  Dom0s already up are used as they are; otherwise this run brings them up and,
# on every exit path, takes them down with what ran in them.
# xl's total_ms is the wall time of `xl migrate` unless xl prints a total: it includes the target's
# `xl migrate-receive` and VMM start-up, which QEMU's total-time (target already started) does not.
# Prints figures only; it never fails on timings.  See bench/README.md.
set -euo pipefail
BENCH_POLL=${BENCH_POLL:-0.002}
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MEM_SMALL=${MEM_SMALL:-64}
LINUX_MEM_SMALL=${LINUX_MEM_SMALL:-128}
MEM_LARGE=${MEM_LARGE:-1024}
DIRTY_SMALL=${DIRTY_SMALL:-16}
DIRTY_LARGE=${DIRTY_LARGE:-256}
MIG_TIMEOUT=${MIG_TIMEOUT:-60}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-120}
NS_A=${TWO_DOM0_A:-xenith-a}
NS_B=${TWO_DOM0_B:-xenith-b}
RUN_A=${TWO_DOM0_BASE:-/run}/$NS_A
RUN_B=${TWO_DOM0_BASE:-/run}/$NS_B
for v in MEM_SMALL LINUX_MEM_SMALL MEM_LARGE DIRTY_SMALL DIRTY_LARGE MIG_TIMEOUT BOOT_TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
TWO_DOM0=$BENCH_ROOT/examples/migrate/two-dom0.sh
NS_SSH=$BENCH_ROOT/examples/migrate/ns-ssh
REPORT_MS=100

bench_init --kvm-optional
export PATH=$BENCH_ROOT/bin:$PATH          # `xl migrate-receive` on the target side is found on PATH
export XENITH_BIN=$BENCH_ROOT/bin           # ns-ssh's xl

MIG_DOMAINS=()          # Xenith domains of this run, destroyed on both Dom0s on exit
MIG_TWO_DOM0_UP=""      # set when this run brought the two Dom0s up (it takes them down again)
mig_cleanup() {     # keeps $? for bench_cleanup, which exits with it
    local rc=$? name
    set +e
    for name in ${MIG_DOMAINS[@]+"${MIG_DOMAINS[@]}"}; do
        timeout 10 "$NS_SSH" "$NS_A" "$XL" destroy "$name" >/dev/null 2>&1
        timeout 10 "$NS_SSH" "$NS_B" "$XL" destroy "$name" >/dev/null 2>&1
    done
    if [[ -n $MIG_TWO_DOM0_UP ]]; then
        kill_rundir_procs "$RUN_A" "$RUN_B"     # the xenstoreds xl started there on demand
        timeout 60 "$TWO_DOM0" down >/dev/null 2>&1
        rm -rf "$RUN_A" "$RUN_B"
    fi
    return "$rc"
}
# Processes whose XENITH_RUNDIR is one of DIRS (only ever the Dom0s this run made), by pid.
kill_rundir_procs() {
    local p kv dir
    for p in /proc/[0-9]*; do
        while IFS= read -r -d '' kv; do
            for dir in "$@"; do
                [[ $kv == "XENITH_RUNDIR=$dir" ]] && kill -KILL "${p#/proc/}" 2>/dev/null
            done
        done 2>/dev/null <"$p/environ"
    done
}
trap 'mig_cleanup; bench_cleanup' EXIT

# ---------------------------------------------------------------- the Linux guest, both tools
KDIR=$(timeout 600 "$BENCH_ROOT/scripts/debian-kernel") || { bench_msg "scripts/debian-kernel failed"; exit 1; }
BZIMAGE=""
for f in "$KDIR"/boot/vmlinuz-*; do [[ -f $f ]] && BZIMAGE=$f && break; done
[[ -n $BZIMAGE ]] || { bench_msg "no boot/vmlinuz-* in $KDIR"; exit 1; }
INITRAMFS=$BENCH_TMP/migrate-gap.cpio
mk_initramfs() {
    local root=$BENCH_TMP/initramfs
    command -v cpio >/dev/null || { bench_msg "cpio is missing (scripts/install-deps test)"; return 1; }
    mkdir -p "$root/dev"
    gcc -static -O2 -Wall -Wextra -Werror -Wshadow -o "$root/init" "$BENCH_ROOT/bench/migrate_gap.c" \
        2>"$BENCH_TMP/gcc.log" ||
        { cat "$BENCH_TMP/gcc.log" >&2; bench_msg "gcc -static bench/migrate_gap.c failed (libc6-dev's libc.a?)"; return 1; }
    # The kernel opens /dev/console for init's stdin/stdout/stderr; without the node init has none.
    mknod "$root/dev/console" c 5 1
    (cd "$root" && find . | cpio -o -H newc --quiet) >"$INITRAMFS"
}
mk_initramfs || exit 1

bench_find_qemu
QEMU_ACCEL=""
if [[ -n $QEMU ]]; then
    if [[ -r /dev/kvm && -w /dev/kvm ]]; then QEMU_ACCEL=kvm; else QEMU_ACCEL=tcg; fi
fi

# ---------------------------------------------------------------- helpers
# The largest gap_max_us of the first N `gap:` reports in FILE (the Linux guest's), in ms; "n/a".
linux_gap_ms() {
    awk -v n="$2" '/^gap: t_ms=/ { if (++seen > n) exit
                                   for (i = 1; i <= NF; i++) if ($i ~ /^gap_max_us=/) {
                                       split($i, kv, "="); if (kv[2] + 0 > m) m = kv[2] + 0 } }
                   END { if (seen) printf "%.1f", m / 1000; else print "n/a" }' "$1" 2>/dev/null || echo n/a
}

gap_reports() { local n; n=$(grep -c '^gap: t_ms=' "$1" 2>/dev/null) || true; echo "${n:-0}"; }

# Waits until FILE holds N complete `gap:` reports (up to LIMIT_S); 1 on timeout.
wait_gap_reports() {
    local file=$1 n=$2 limit_s=$3 now deadline
    bench_now_us now
    deadline=$((now + limit_s * 1000000))
    while (($(gap_reports "$file") < n)); do
        bench_now_us now
        ((now < deadline)) || return 1
        bench_nap
    done
}

# The last NAME=<number> in FILE, or "n/a": xl's figures are parsed loosely (its wording may change).
last_figure() {
    local v
    v=$(grep -oiE "$2[=: ]+[0-9]+(\.[0-9]+)?" "$1" 2>/dev/null | tail -1 | grep -oE '[0-9]+(\.[0-9]+)?$') || true
    echo "${v:-n/a}"
}

mib() { [[ $1 =~ ^[0-9]+$ ]] && awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }' || echo n/a; }

row() { printf '%-12s %6s %-10s %-9s %9s %18s %14s %9s\n' "$@"; }
skip_row() {    # GUEST MEM LOAD TOOL WHY
    printf '%-12s %6s %-10s %-9s skip - %s\n' "$1" "$2" "$3" "$4" "$5"
}

# ---------------------------------------------------------------- Xenith: xl migrate between two Dom0s
XENITH_WHY=""
if [[ -z $BENCH_HAVE_KVM ]]; then
    XENITH_WHY="no /dev/kvm on this host (nothing boots under Xenith here)"
elif [[ ! -x $TWO_DOM0 || ! -x $NS_SSH ]]; then
    XENITH_WHY="examples/migrate/two-dom0.sh or ns-ssh is missing"
elif ! command -v ip >/dev/null; then
    XENITH_WHY="iproute2's ip is missing (the two Dom0s are network namespaces)"
fi
xenith_up() {
    [[ -z $XENITH_WHY ]] || return 1
    if [[ -e /run/netns/$NS_A && -e /run/netns/$NS_B ]]; then
        return 0                                # already up (the user's): used, left as it is
    fi
    if [[ -e /run/netns/$NS_A || -e /run/netns/$NS_B || -e $RUN_A || -e $RUN_B ]]; then
        XENITH_WHY="$NS_A/$NS_B half there (a namespace or run directory without the other): not touched"
        return 1
    fi
    if ! timeout 60 "$TWO_DOM0" up >"$BENCH_TMP/two-dom0.log" 2>&1; then
        XENITH_WHY="two-dom0.sh up failed: $(tail -1 "$BENCH_TMP/two-dom0.log")"
        return 1
    fi
    MIG_TWO_DOM0_UP=1
}

# xenith_row GUEST MEM LOAD DIRTY_MIB: boots GUEST on Dom0 a, migrates it to b, prints the row.
XENITH_SEQ=0
xenith_row() {
    local guest=$1 mem=$2 load=$3 dirty=$4 name cfg log_a log_b rc t0 t1 err total down sent gap
    [[ -n $XENITH_WHY ]] && { skip_row "$guest" "${mem}M" "$load" xenith "$XENITH_WHY"; return; }
    XENITH_SEQ=$((XENITH_SEQ + 1))
    name=bench-mig-$$-$XENITH_SEQ
    cfg=$BENCH_TMP/$name.cfg
    log_a=$RUN_A/log/guest-$name.log
    log_b=$RUN_B/log/guest-$name.log
    if [[ $guest == xenith-test ]]; then
        printf 'name = "%s"\ntype = "pvh"\nkernel = "%s"\nmemory = %d\ncmdline = "%s"\n' "$name" \
            "$GUEST_ELF" "$mem" "test=migrate-workload dirty_mib=$dirty report_ms=$REPORT_MS" >"$cfg"
    else
        printf 'name = "%s"\ntype = "pvh"\nkernel = "%s"\nramdisk = "%s"\nmemory = %d\ncmdline = "%s"\n' \
            "$name" "$BZIMAGE" "$INITRAMFS" "$mem" \
            "console=hvc0 quiet dirty_mib=$dirty report_ms=$REPORT_MS" >"$cfg"
    fi
    MIG_DOMAINS+=("$name")
    if ! timeout 60 "$NS_SSH" "$NS_A" "$XL" create "$cfg" >"$BENCH_TMP/$name.create" 2>&1; then
        skip_row "$guest" "${mem}M" "$load" xenith "xl create failed: $(tail -1 "$BENCH_TMP/$name.create")"
        return
    fi
    rc=0
    if [[ $guest == xenith-test ]]; then
        bench_wait_line "$log_a" '^mig: count=' '^FAIL ' "$BOOT_TIMEOUT" || rc=$?
    else
        wait_gap_reports "$log_a" 1 "$BOOT_TIMEOUT" || rc=$?
    fi
    if ((rc)); then
        skip_row "$guest" "${mem}M" "$load" xenith "guest did not report (status $rc${BENCH_LINE:+: $BENCH_LINE})"
        timeout 10 "$NS_SSH" "$NS_A" "$XL" destroy "$name" >/dev/null 2>&1 || true
        return
    fi
    bench_nap 1                                 # let the dirtying run before the copy starts
    err=$BENCH_TMP/$name.migrate
    rc=0
    bench_now_us t0
    timeout "$MIG_TIMEOUT" "$NS_SSH" "$NS_A" "$XL" migrate -s "$NS_SSH" "$name" "$NS_B" >"$err" 2>&1 || rc=$?
    bench_now_us t1
    if ((rc)); then
        row "$guest" "${mem}M" "$load" xenith "failed" "-" "-" "-"
        echo "  xl migrate exited $rc: $(tail -2 "$err" | tr '\n' ' ')"
        timeout 10 "$NS_SSH" "$NS_A" "$XL" destroy "$name" >/dev/null 2>&1 || true
        timeout 10 "$NS_SSH" "$NS_B" "$XL" destroy "$name" >/dev/null 2>&1 || true
        return
    fi
    total=$(last_figure "$err" 'total[_ ]?ms')
    [[ $total == n/a ]] && total=$(bench_ms $((t1 - t0)))
    down=$(last_figure "$err" 'downtime[_ ]?(ms)?')
    sent=$(mib "$(last_figure "$err" 'bytes')")
    gap=n/a
    if [[ $guest == xenith-test ]]; then
        if bench_wait_line "$log_b" '^mig: resumed in a new domain after' '^(FAIL |mig: suspend cancelled)' 30; then
            [[ $BENCH_LINE =~ gap_max_us=([0-9]+) ]] && gap=$(bench_ms "${BASH_REMATCH[1]}")
        else
            echo "  target guest: ${BENCH_LINE:-no resume line in 30 s}"
        fi
    elif wait_gap_reports "$log_b" 2 30; then
        gap=$(linux_gap_ms "$log_b" 2)
    fi
    row "$guest" "${mem}M" "$load" xenith "$total" "$down" "$gap" "$sent"
    timeout 10 "$NS_SSH" "$NS_B" "$XL" destroy "$name" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- QEMU: its own live migration
QEMU_SEQ=0
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# qemu_row MEM LOAD DIRTY_MIB: boots the Linux guest in one QEMU, migrates it into a second one.
qemu_row() {
    local mem=$1 load=$2 dirty=$3 tool=qemu-$QEMU_ACCEL d port src dst src_pid dst_pid rc out
    local status total down sent gap args
    [[ -n $QEMU_ACCEL ]] || { skip_row linux "${mem}M" "$load" qemu "qemu-system-x86_64 is missing and apt-get could not install it"; return; }
    [[ $QEMU_ACCEL == kvm ]] && tool=qemu
    QEMU_SEQ=$((QEMU_SEQ + 1))
    d=$BENCH_TMP/qemu-$QEMU_SEQ
    mkdir -p "$d"
    port=$(free_port)
    args=(-accel "$QEMU_ACCEL" -m "$mem" -nodefaults -display none -no-reboot
          -kernel "$BZIMAGE" -initrd "$INITRAMFS"
          -append "console=ttyS0 quiet dirty_mib=$dirty report_ms=$REPORT_MS")
    src=$d/src dst=$d/dst
    timeout $((BOOT_TIMEOUT + MIG_TIMEOUT + 60)) "$QEMU" "${args[@]}" -serial "file:$src.log" \
        -qmp "unix:$src.qmp,server=on,wait=off" >"$src.out" 2>&1 </dev/null &
    src_pid=$!
    BENCH_PIDS+=("$src_pid")
    timeout $((BOOT_TIMEOUT + MIG_TIMEOUT + 60)) "$QEMU" "${args[@]}" -serial "file:$dst.log" \
        -qmp "unix:$dst.qmp,server=on,wait=off" -incoming "tcp:127.0.0.1:$port" >"$dst.out" 2>&1 </dev/null &
    dst_pid=$!
    BENCH_PIDS+=("$dst_pid")
    rc=0
    wait_gap_reports "$src.log" 1 "$BOOT_TIMEOUT" || rc=$?
    if ((rc == 0)) && ! kill -0 "$dst_pid" 2>/dev/null; then rc=2; fi
    if ((rc)); then
        skip_row linux "${mem}M" "$load" "$tool" "QEMU did not boot the guest (see below)"
        tail -3 "$src.out" "$dst.out" "$src.log" 2>/dev/null | tr -d '\r' | sed 's/^/  /'
    else
        bench_nap 1                             # let the dirtying run before the copy starts
        out=$(timeout $((MIG_TIMEOUT + 30)) python3 "$BENCH_ROOT/bench/qmp_migrate.py" "$src.qmp" "$dst.qmp" \
            "tcp:127.0.0.1:$port" "$MIG_TIMEOUT") || rc=$?
        status=$(sed -n 's/.*status=\([^ ]*\).*/\1/p' <<<"$out")
        total=$(sed -n 's/.*total_ms=\([^ ]*\).*/\1/p' <<<"$out")
        down=$(sed -n 's/.*downtime_ms=\([^ ]*\).*/\1/p' <<<"$out")
        sent=$(mib "$(sed -n 's/.*sent_bytes=\([^ ]*\).*/\1/p' <<<"$out")")
        if ((rc)); then
            row linux "${mem}M" "$load" "$tool" "${status:-failed}" "-" "-" "$sent"
            echo "  qmp_migrate: ${out:-no output}"
        else
            gap=n/a
            # The switchover's gap is in the target's first report (the second for safety).
            wait_gap_reports "$dst.log" 2 30 && gap=$(linux_gap_ms "$dst.log" 2)
            row linux "${mem}M" "$load" "$tool" "${total:-n/a}" "${down:-n/a}" "$gap" "$sent"
            QEMU_DETAILS+=("linux ${mem}M $load: $out")
        fi
    fi
    kill "$src_pid" "$dst_pid" 2>/dev/null || true
    wait "$src_pid" "$dst_pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- the run
QEMU_DETAILS=()
xenith_up || true
echo "Live migration: Xenith (xl migrate between two namespaced Dom0s) beside QEMU's own, same host."
echo "# $(nproc) CPUs; guest kernel for 'linux' rows: $(basename "$BZIMAGE"), /init = bench/migrate_gap.c"
echo "# QEMU: $("${QEMU:-false}" --version 2>/dev/null | head -1 || echo missing), -accel ${QEMU_ACCEL:-none}, max-bandwidth uncapped, downtime-limit default (300 ms)"
[[ $QEMU_ACCEL == tcg ]] &&
    echo "# qemu-tcg rows: no /dev/kvm, software emulation: NOT comparable with KVM figures (the copy competes with an emulated CPU)"
echo "# Debian's kernel does not boot in 64 MiB (OOM at 80), so the small 'linux' rows use ${LINUX_MEM_SMALL} MiB."
echo "# gap_ms(guest): QEMU stops the guest's clock while the VM is stopped (kvmclock / TCG's virtual TSC),"
echo "# so a QEMU guest sees little of the downtime; Xenith's guest reads a pvclock that runs on."
echo "# dirtying load: ${DIRTY_SMALL} MiB (small) / ${DIRTY_LARGE} MiB (1 GiB) rewritten, one page per clock reading."
echo
row guest mem load tool total_ms "downtime_ms(tool)" "gap_ms(guest)" sent_MiB
for size in small large; do
    for load in idle dirty; do
        if [[ $size == small ]]; then
            mem=$MEM_SMALL lmem=$LINUX_MEM_SMALL dirty=$DIRTY_SMALL
        else
            mem=$MEM_LARGE lmem=$MEM_LARGE dirty=$DIRTY_LARGE
        fi
        n=0
        [[ $load == dirty ]] && n=$dirty
        label=$load
        [[ $load == dirty ]] && label=dirty${n}M
        xenith_row xenith-test "$mem" "$label" "$n"
        xenith_row linux "$lmem" "$label" "$n"
        qemu_row "$lmem" "$label" "$n"
    done
done
echo
for line in ${QEMU_DETAILS[@]+"${QEMU_DETAILS[@]}"}; do echo "# qemu $line"; done
