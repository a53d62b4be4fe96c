#!/bin/bash
# bench/libvirt.sh: what libvirt's path costs.  The time of `virsh start` + `virsh destroy` of a
# defined test-guest domain through xenith-libvirtd beside `xl create` + `xl destroy` of the same
# configuration, ROUNDS times each, interleaved.  Both commands return once the VMM is ready
# (start) or gone (destroy), so the difference is libvirt's RPC, the daemon's model and virsh.
# Environment: ROUNDS (10).  Prints figures only (min median max in ms), never fails on timings;
# skips without /dev/kvm.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-10}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS: a positive integer" >&2; exit 2; }
command -v virsh >/dev/null || { echo "virsh is missing (libvirt-clients): SKIP"; exit 0; }

bench_init
LIBVIRTD=$BENCH_ROOT/bin/xenith-libvirtd
[[ -x $LIBVIRTD ]] || { bench_msg "no $LIBVIRTD after make all"; exit 1; }
SOCK=$XENITH_RUNDIR/libvirt-sock
URI="xen+unix:///system?socket=$SOCK"
"$LIBVIRTD" --rundir "$XENITH_RUNDIR" --state-dir "$BENCH_TMP/state" --foreground \
    2>"$BENCH_TMP/libvirtd.log" &
BENCH_PIDS+=("$!")
for _ in $(seq 200); do [[ -S $SOCK ]] && break; bench_nap 0.05; done
[[ -S $SOCK ]] || { bench_msg "xenith-libvirtd did not listen: $(tail -3 "$BENCH_TMP/libvirtd.log")"; exit 1; }

cat >"$BENCH_TMP/lv.xml" <<EOF
<domain type='xen'>
  <name>lv</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type>xenpvh</type><kernel>$GUEST_ELF</kernel><cmdline>test=idle</cmdline></os>
</domain>
EOF
cat >"$BENCH_TMP/xlv.cfg" <<EOF
name = "xlv"
type = "pvh"
kernel = "$GUEST_ELF"
memory = 64
vcpus = 1
cmdline = "test=idle"
EOF
timeout 20 virsh -q -c "$URI" define "$BENCH_TMP/lv.xml" >/dev/null
BENCH_DOMAINS+=(lv xlv)

# timed VAR COMMAND...: runs COMMAND (bounded), its wall time in µs appended to the file VAR names.
timed() {
    local out=$1 t0 t1
    shift
    bench_now_us t0
    timeout 60 "$@" >/dev/null 2>>"$BENCH_TMP/errors" || { bench_msg "failed: $*: $(tail -1 "$BENCH_TMP/errors")"; return 1; }
    bench_now_us t1
    echo $((t1 - t0)) >>"$out"
}

for _ in $(seq "$ROUNDS"); do
    timed "$BENCH_TMP/virsh-start" virsh -q -c "$URI" start lv
    timed "$BENCH_TMP/virsh-destroy" virsh -q -c "$URI" destroy lv
    timed "$BENCH_TMP/xl-create" "$XL" create "$BENCH_TMP/xlv.cfg"
    timed "$BENCH_TMP/xl-destroy" "$XL" destroy xlv
done

ms() { while read -r us; do bench_ms "$us"; echo; done <"$1" | bench_stats; }
printf '%-16s %s\n' "ms (n=$ROUNDS)" "min median max"
printf '%-16s %s\n' "virsh start" "$(ms "$BENCH_TMP/virsh-start")"
printf '%-16s %s\n' "xl create" "$(ms "$BENCH_TMP/xl-create")"
printf '%-16s %s\n' "virsh destroy" "$(ms "$BENCH_TMP/virsh-destroy")"
printf '%-16s %s\n' "xl destroy" "$(ms "$BENCH_TMP/xl-destroy")"
