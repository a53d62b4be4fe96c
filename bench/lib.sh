# shellcheck shell=bash disable=SC2034,SC2119,SC2120
# Shared helpers for the bench/*.sh scripts.  Source it; it is not a program.
#
#   bench_init [--kvm-optional]
#                          SKIP without /dev/kvm (with --kvm-optional: BENCH_HAVE_KVM stays empty and
#                          nothing is built, for peer-only runs), temp dir + run directory, cleanup
#                          trap, `make all`
#   bench_xl_create NAME CMDLINE [MEMORY]
#                          writes a cfg for the test guest into the temp dir and starts it as
#                          bench_xl_create_cfg does
#   bench_xl_create_cfg NAME CFG [XL_TIMEOUT_S]
#                          runs `xl create CFG` in the background; sets BENCH_T0 (µs, just before
#                          xl ran) and BENCH_XL_DONE (file that receives "rc timestamp_us" when xl
#                          returns); the domain is destroyed on exit
#   bench_find_qemu        sets QEMU to qemu-system-x86_64, installing Debian's package if missing
#                          (empty if that fails: the QEMU column stays empty)
#   bench_wait_line FILE OK_RE FAIL_RE TIMEOUT_S [ALIVE_CMD...]
#                          waits for a complete line of FILE matching OK_RE; sets BENCH_LINE and
#                          BENCH_LINE_US (when it was seen).  Returns 1 on timeout, 2 if a line
#                          matching FAIL_RE came first (in BENCH_LINE), 3 if ALIVE_CMD failed.
#   bench_vmm_pid NAME     pid of this run's VMM for domain NAME
#   bench_rss PID [NAME_RE|SIZE_KB]
#                          prints "vmrss rollup_rss ram_rss" in kB: VmRSS, smaps_rollup Rss and the
#                          Rss of the guest-RAM mappings (by name regex, or by exact Size in kB)
#   bench_stats            reads numbers on stdin, prints "min median max"
#   bench_now_us           current wall-clock time in µs (no fork)
#
# Timing uses $EPOCHREALTIME and waits use `read -t` on a private FIFO, so polling does not fork.

export LC_ALL=C
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XL=$BENCH_ROOT/bin/xl
GUEST_ELF=$BENCH_ROOT/guest/out/xenith-guest.elf
BENCH_POLL=${BENCH_POLL:-0.005}         # seconds between polls of a log file
BENCH_DOMAINS=()                        # names of domains we created, destroyed on exit
BENCH_PIDS=()                           # pids of processes we started, killed on exit

bench_now_us() { local t=$EPOCHREALTIME; printf -v "${1:-BENCH_NOW}" %s "${t//[!0-9]/}"; }

bench_nap() { read -r -t "${1:-$BENCH_POLL}" -u "$BENCH_NAPFD" _ || true; }

bench_msg() { printf '%s\n' "$*" >&2; }

bench_cleanup() {
    local rc=$? name pid kv mine
    # A signal can land inside bench_nap's `read -t`; finishing a read first keeps the command
    # substitutions below from aborting bash ("longjmp causes uninitialized stack frame").
    read -r -t 0 _ </dev/null
    set +e
    trap - EXIT INT TERM
    for name in "${BENCH_DOMAINS[@]}"; do
        timeout 10 "$XL" destroy "$name" >/dev/null 2>&1
    done
    for pid in "${BENCH_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${BENCH_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    # Anything still alive that we started (a VMM that xl could not destroy, a daemon xl started
    # on demand) carries our unique run directory in its environment: stop exactly those, by pid.
    if [[ -n ${XENITH_RUNDIR:-} ]]; then
        for pid in /proc/[0-9]*; do
            pid=${pid#/proc/}
            [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
            mine=0
            while IFS= read -r -d '' kv; do
                [[ $kv == "XENITH_RUNDIR=$XENITH_RUNDIR" ]] && { mine=1; break; }
            done 2>/dev/null <"/proc/$pid/environ"
            if ((mine)); then
                bench_msg "cleanup: killing leftover pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
                kill -KILL "$pid" 2>/dev/null
            fi
        done
    fi
    [[ -n ${BENCH_NAPFD:-} ]] && exec {BENCH_NAPFD}<&-
    if [[ -n ${BENCH_KEEP:-} ]]; then
        bench_msg "kept $BENCH_TMP"
    else
        rm -rf "$BENCH_TMP"
    fi
    exit "$rc"
}

bench_init() {
    BENCH_HAVE_KVM=1
    if [[ ! -e /dev/kvm ]]; then
        if [[ ${1:-} != --kvm-optional ]]; then
            echo "/dev/kvm is missing: nothing to measure on this host."
            echo "SKIP: no /dev/kvm"
            exit 0
        fi
        BENCH_HAVE_KVM=""
    fi
    BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xenith-bench.XXXXXX")
    export XENITH_RUNDIR=$BENCH_TMP/run
    mkdir -p "$XENITH_RUNDIR"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkfifo "$BENCH_TMP/nap"
    exec {BENCH_NAPFD}<>"$BENCH_TMP/nap"
    [[ -n $BENCH_HAVE_KVM ]] || return 0     # nothing of ours to build for a peer-only run
    if ! timeout 900 make -C "$BENCH_ROOT" all >"$BENCH_TMP/build.log" 2>&1; then
        cat "$BENCH_TMP/build.log" >&2
        bench_msg "build failed (make -C $BENCH_ROOT all)"
        exit 1
    fi
    [[ -x $XL && -r $GUEST_ELF ]] || { bench_msg "build did not produce $XL and $GUEST_ELF"; exit 1; }
}

bench_xl_create() {
    local name=$1 cmdline=$2 memory=${3:-128} cfg=$BENCH_TMP/$1.cfg
    cat >"$cfg" <<EOF
name = "$name"
type = "pvh"
kernel = "$GUEST_ELF"
memory = $memory
cmdline = "$cmdline"
EOF
    bench_xl_create_cfg "$name" "$cfg" 30
}

bench_xl_create_cfg() {
    local name=$1 cfg=$2 xl_timeout=${3:-30}
    BENCH_DOMAINS+=("$name")
    BENCH_XL_DONE=$BENCH_TMP/$name.xl-done
    BENCH_XL_OUT=$BENCH_TMP/$name.xl-out
    rm -f "$BENCH_XL_DONE"
    bench_now_us BENCH_T0
    (
        rc=0
        timeout "$xl_timeout" "$XL" create "$cfg" >"$BENCH_XL_OUT" 2>&1 || rc=$?
        t=$EPOCHREALTIME
        echo "$rc ${t//[!0-9]/}" >"$BENCH_XL_DONE.tmp"
        mv "$BENCH_XL_DONE.tmp" "$BENCH_XL_DONE"
    ) &
    BENCH_PIDS+=($!)
}

bench_find_qemu() {
    QEMU=$(command -v qemu-system-x86_64 || true)
    [[ -n $QEMU ]] && return 0
    echo "qemu-system-x86_64 missing: installing Debian's qemu-system-x86"
    timeout 600 apt-get install -y --no-install-recommends qemu-system-x86 >"$BENCH_TMP/apt.log" 2>&1 ||
        { tail -5 "$BENCH_TMP/apt.log"; echo "apt-get install failed: QEMU column will be empty"; }
    QEMU=$(command -v qemu-system-x86_64 || true)
}

# For bench_wait_line's ALIVE_CMD: false once xl create has returned non-zero.
bench_xl_alive() {
    local rc _
    [[ -e $BENCH_XL_DONE ]] || return 0
    read -r rc _ <"$BENCH_XL_DONE"
    [[ $rc == 0 ]]
}

# Waits for xl create to return; prints "rc timestamp_us".
bench_xl_wait() {
    local i
    for ((i = 0; i < 6000; i++)); do
        [[ -e $BENCH_XL_DONE ]] && { cat "$BENCH_XL_DONE"; return 0; }
        bench_nap
    done
    echo "timeout 0"
}

# Forgets NAME in the cleanup list (it has gone).
bench_forget() {
    local n=() d
    for d in "${BENCH_DOMAINS[@]}"; do [[ $d == "$1" ]] || n+=("$d"); done
    BENCH_DOMAINS=(${n[@]+"${n[@]}"})
}

# Waits up to NAPS polls for NAME's VMM to exit.
bench_wait_vmm_gone() {
    local i
    for ((i = 0; i < $2; i++)); do
        [[ -z $(bench_vmm_pid "$1") ]] && return 0
        bench_nap
    done
    [[ -z $(bench_vmm_pid "$1") ]]
}

bench_xl_destroy() {
    local name=$1
    timeout 10 "$XL" destroy "$name" >"$BENCH_TMP/$name.destroy-out" 2>&1 || {
        bench_msg "xl destroy $name failed: $(cat "$BENCH_TMP/$name.destroy-out")"
        return 1
    }
    # Wait (up to 1000 polls) until its VMM has gone, so runs do not overlap.
    bench_wait_vmm_gone "$name" 1000 || true
    bench_forget "$name"
}

# A guest that powers off by itself: let its VMM finish (up to NAPS polls), destroy it if it lingers.
bench_xl_finish() {
    if bench_wait_vmm_gone "$1" "$2"; then
        bench_forget "$1"
    else
        bench_xl_destroy "$1" || true
    fi
}

bench_wait_line() {
    local file=$1 ok=$2 fail=$3 limit_s=$4 fd line partial="" deadline now
    shift 4
    bench_now_us now
    deadline=$((now + ${limit_s%.*} * 1000000))
    BENCH_LINE=""
    until [[ -e $file ]]; do
        if (($#)) && ! "$@"; then return 3; fi
        bench_now_us now
        ((now < deadline)) || return 1
        bench_nap
    done
    exec {fd}<"$file"
    while :; do
        while IFS= read -r -u "$fd" line; do
            line=$partial$line
            partial=""
            line=${line%$'\r'}
            if [[ $line =~ $ok ]]; then
                bench_now_us BENCH_LINE_US
                BENCH_LINE=$line
                exec {fd}<&-
                return 0
            fi
            if [[ -n $fail && $line =~ $fail ]]; then
                BENCH_LINE=$line
                exec {fd}<&-
                return 2
            fi
        done
        partial+=$line          # at EOF `read` leaves an unfinished line here
        if (($#)) && ! "$@"; then exec {fd}<&-; return 3; fi
        bench_now_us now
        ((now < deadline)) || { exec {fd}<&-; return 1; }
        bench_nap
    done
}

bench_vmm_pid() {
    pgrep -f "xenith-vmm --rundir $XENITH_RUNDIR .*--name $1( |\$)" 2>/dev/null | head -1 || true
}

bench_rss() {
    local pid=$1 sel=${2:-'memfd:xenith-guest-ram'} vmrss rollup ram
    vmrss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    rollup=$(awk '/^Rss:/ { print $2 }' "/proc/$pid/smaps_rollup")
    if [[ $sel =~ ^[0-9]+$ ]]; then
        ram=$(awk -v want="$sel" '/^[0-9a-f]+-[0-9a-f]+ / { sz = -1 }
                                  /^Size:/ { sz = $2 }
                                  /^Rss:/ && sz == want { sum += $2 }
                                  END { print sum + 0 }' "/proc/$pid/smaps")
    else
        ram=$(awk -v re="$sel" '/^[0-9a-f]+-[0-9a-f]+ / { hit = ($0 ~ re) }
                                /^Rss:/ && hit { sum += $2 }
                                END { print sum + 0 }' "/proc/$pid/smaps")
    fi
    echo "${vmrss:-0} ${rollup:-0} ${ram:-0}"
}

bench_stats() {
    sort -g | awk '{ v[NR] = $1 }
                   END { if (!NR) { print "- - -"; exit }
                         m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                         print v[1], m, v[NR] }'
}

# µs → ms with one decimal
bench_ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }

# bench_fio_engine FIO FILE: prints the fio engine that runs on FILE here, io_uring (batched submission,
# as blkback's io_uring path) else libaio, or nothing (after saying why on stderr; the probes' output
# stays in $BENCH_TMP/fio-probe-ENGINE.out).
bench_fio_engine() {
    local e
    for e in io_uring libaio; do
        if timeout 60 "$1" --name=probe --filename="$2" --rw=read --bs=4096 --size=1m --io_size=64k \
            --ioengine="$e" --iodepth=4 --direct=0 >"$BENCH_TMP/fio-probe-$e.out" 2>&1; then
            echo "$e"
            return 0
        fi
    done
    bench_msg "fio runs neither io_uring nor libaio here: $(tail -1 "$BENCH_TMP/fio-probe-libaio.out")"
}
